"""`pathway serve` end to end in headless Chromium: the page shows the app, keys reach it, and two
tabs answering at once on one home both keep their answers.

The terminal in the page draws on a canvas, so the test reads what the app sends to it: the
websocket frames textual-serve relays from the app's stdout (ANSI escapes stripped).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from pathway.db.engine import open_database
from pathway.db.models import ReviewLog

playwright = pytest.importorskip("playwright.async_api", reason="playwright drives the browser")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)"),
]
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)")
SCREENSHOT = os.environ.get("PATHWAY_SERVE_SCREENSHOT")  # a path: also save the Home page as PNG (README)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(home: Path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pathway", "--home", str(home), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, process.stdout.read().decode()
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}/"
    os.killpg(process.pid, signal.SIGTERM)  # the server and every tab's app process
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


class Tab:
    """One browser tab on the app: keys in, the app's text out."""

    def __init__(self, page) -> None:
        self.page = page
        self.frames: list[str] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self.received))

    def received(self, frame) -> None:
        self.frames.append(frame if isinstance(frame, str) else frame.decode("utf-8", "replace"))

    def text(self, since: int = 0) -> str:
        return ANSI.sub("", "".join(self.frames[since:]))

    def mark(self) -> int:
        return len(self.frames)

    async def wait_for(self, needle: str, since: int = 0, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text(since):
            assert time.monotonic() < deadline, f"{needle!r} never showed; the app sent: {self.text(since)[-2000:]!r}"
            await asyncio.sleep(0.2)

    async def press(self, *keys: str) -> None:
        for key in keys:
            await self.page.keyboard.press(key)
            await asyncio.sleep(0.15)


async def open_tab(browser, url: str) -> Tab:
    page = await browser.new_page(viewport={"width": 1100, "height": 700})
    tab = Tab(page)
    await page.goto(url)
    await tab.wait_for("lessons done")
    await page.locator(".xterm-helper-textarea").focus()  # where xterm.js takes keys
    return tab


async def answer_first_today_question(tab: Tab) -> None:
    since = tab.mark()
    await tab.press("F4")
    await tab.wait_for("Mock interview", since)
    since = tab.mark()
    await tab.press("Enter")  # Today
    await tab.wait_for("Enter to submit", since)
    since = tab.mark()
    await tab.press("1", "Enter")
    await tab.wait_for("Enter takes the suggestion", since)
    since = tab.mark()
    await tab.press("Enter")  # commit the suggested rating
    await tab.wait_for("1 done", since)


def test_the_browser_shows_home_and_keys_reach_the_app(server: str) -> None:
    async def scenario() -> None:
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            tab = await open_tab(browser, server)
            assert "Foundations" in tab.text() and "Core LLM" in tab.text()  # the roadmap
            if SCREENSHOT:
                await tab.page.screenshot(path=SCREENSHOT)
            since = tab.mark()
            await tab.press("F3")
            await tab.wait_for("Why it matters", since)  # Learn opened the first lesson
            await browser.close()

    asyncio.run(scenario())


def test_two_tabs_answering_at_once_lose_nothing(server: str, home: Path) -> None:
    async def scenario() -> None:
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            tabs = await asyncio.gather(open_tab(browser, server), open_tab(browser, server))
            await asyncio.gather(*(answer_first_today_question(tab) for tab in tabs))
            await browser.close()

    asyncio.run(scenario())
    engine = open_database(home)
    with Session(engine) as session:
        logs = session.exec(select(ReviewLog)).all()
    engine.dispose()
    assert len(logs) == 2 and all(log.mode == "today" for log in logs), logs
