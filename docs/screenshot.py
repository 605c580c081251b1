"""Regenerate the README's screenshot of the home screen: `python docs/screenshot.py`."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from pathway.tui.app import make_app

TARGET = Path(__file__).parent / "home.svg"


async def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        app = make_app(home=home)
        async with app.run_test(size=(100, 30)) as pilot:
            while app.data is None:
                await pilot.pause(0.05)
            await pilot.pause(0.5)
            app.save_screenshot(filename=TARGET.name, path=str(TARGET.parent))
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    asyncio.run(main())
