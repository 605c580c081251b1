"""Helpers for Pilot tests: wait for conditions, not for fixed times."""

from __future__ import annotations

from typing import Callable


async def until(pilot, condition: Callable[[], bool], timeout: float = 30.0, what: str = "the condition") -> None:
    """Pause in small steps until `condition()` is true; fail with `what` after `timeout` seconds."""
    waited = 0.0
    while not condition():
        if waited > timeout:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        await pilot.pause(0.02)
        waited += 0.02
    await pilot.pause()  # let what was posted alongside it be handled


async def wait_ready(pilot, timeout: float = 60.0) -> None:
    """Pause until the app's loader worker has finished (DB open, content loaded)."""
    await until(pilot, lambda: pilot.app.data is not None, timeout, "loading the app's data")


async def open_mode(pilot, key: str, settle: float = 0.0) -> None:
    """Wait for the data, press a mode key (f2 home … f6 progress) and wait until that mode's screen is on top."""
    from pathway.tui.modes import MODES

    await wait_ready(pilot)
    mode = next(m.id for m in MODES if m.key == key)
    await pilot.press(key)
    await until(pilot, lambda: getattr(pilot.app.screen, "MODE", None) == mode and pilot.app.screen.is_mounted,
                what=f"the {mode} screen opening")
    if settle:
        await pilot.pause(settle)
