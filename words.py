"""Counting things in sentences: "1 day", "2 days", never "2 day(s)"."""

from __future__ import annotations


def count(n: int, singular: str, plural: str | None = None) -> str:
    """`n` and the noun in the form that fits it: count(1, "day") -> "1 day", count(3, "lapse") -> "3 lapses"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
