"""Screenshots of Home and Learn at 80×24 and 120×40 (pytest-textual-snapshot).

Update with `pytest tests/test_tui_snapshots.py --snapshot-update`, only after looking at them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pathway.tui.app import make_app
from tui_helpers import open_mode, wait_ready

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_home(snap_compare, home: Path, content_dir: Path, size) -> None:
    async def ready(pilot) -> None:
        await wait_ready(pilot)

    assert snap_compare(make_app(home=home, content_dir=content_dir), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_learn(snap_compare, home: Path, content_dir: Path, size) -> None:
    async def open_lesson(pilot) -> None:
        await open_mode(pilot, "f3", settle=0.5)

    assert snap_compare(make_app(home=home, content_dir=content_dir), terminal_size=size, run_before=open_lesson)


def test_home_small(snap_compare, home: Path, content_dir: Path) -> None:
    """60×15: the cards scroll (the footer keeps what fits, with F1 Help)."""

    async def ready(pilot) -> None:
        await wait_ready(pilot)

    assert snap_compare(make_app(home=home, content_dir=content_dir), terminal_size=(60, 15), run_before=ready)


def test_help_over_learn(snap_compare, home: Path, content_dir: Path) -> None:
    """Help says how to close it, lists Learn's keys then the global ones, and shows its own footer."""

    async def open_help(pilot) -> None:
        await open_mode(pilot, "f3", settle=0.5)
        await pilot.press("f1")
        await pilot.pause(0.5)

    assert snap_compare(make_app(home=home, content_dir=content_dir), terminal_size=(80, 24), run_before=open_help)
