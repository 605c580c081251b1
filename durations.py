"""Durations as people read them, the same in the TUI and on the command line."""

from __future__ import annotations


def format_duration(seconds: float | None, *, missing: str = "–") -> str:
    """`45s`, `3m07s`, `2h05m`; `missing` when unknown (no ETA yet)."""
    if seconds is None:
        return missing
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def clock(seconds: float) -> str:
    """A countdown as `m:ss`, rounded up so a clock never shows 0:00 while time is left."""
    seconds = int(seconds + 0.999)
    return f"{seconds // 60}:{seconds % 60:02d}"
