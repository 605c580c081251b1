"""Helpers for Pilot tests: wait until the app has loaded its data."""

from __future__ import annotations


async def wait_ready(pilot, timeout: float = 60.0) -> None:
    """Pause until the app's loader worker has finished (DB open, content loaded)."""
    waited = 0.0
    while pilot.app.data is None:
        if waited > timeout:
            raise TimeoutError("the app did not load its data in time")
        await pilot.pause(0.05)
        waited += 0.05
    await pilot.pause()


async def open_mode(pilot, key: str, settle: float = 0.3) -> None:
    """Wait for the data, press a mode key (f2 home … f6 progress) and give the mode's screen time to draw."""
    await wait_ready(pilot)
    await pilot.press(key)
    await pilot.pause(settle)
