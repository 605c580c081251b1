"""End to end: the installed `pathway` in a real terminal (tmux), typed at like a person would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlmodel import Session

from pathway.content.loader import load_course
from pathway.db.engine import open_database
from pathway.db.models import LessonProgress

PATHWAY = str(Path(sys.executable).parent / "pathway")
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)")


class Terminal:
    """A detached tmux session running one command."""

    def __init__(self, command: str, width: int = 100, height: int = 30) -> None:
        self.name = f"pathway-test-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), command],
            check=True,
        )

    def screen(self) -> str:
        result = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return result.stdout

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear; the screen shows:\n{self.screen()}")

    def press(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode == 0

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def test_open_a_lesson_complete_it_and_quit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = load_course().lessons[0]
    exit_file = tmp_path / "exit-code"
    env = f"PATHWAY_HOME={home} TERM=xterm-256color"
    terminal = Terminal(f"env {env} {PATHWAY}; echo $? > {exit_file}")
    try:
        terminal.wait_for("lessons done")
        terminal.press("Enter")
        terminal.wait_for("Why it matters")
        terminal.press("c")
        terminal.wait_for("completed")
        terminal.press("q")
        terminal.wait_for("lessons done")
        terminal.press("q")
        deadline = time.monotonic() + 15
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert exit_file.read_text().strip() == "0"
    finally:
        terminal.close()

    engine = open_database(home)
    with Session(engine) as session:
        row = session.get(LessonProgress, first.id)
        assert row is not None and row.status == "completed"
    engine.dispose()


def test_sigkill_mid_session_loses_no_rated_answer(tmp_path: Path) -> None:
    """Rate two answers in Today, SIGKILL the app at once: both ratings are in the database."""
    import signal

    from sqlmodel import select

    from pathway.db.models import ReviewLog

    home = tmp_path / "home-kill"
    terminal = Terminal(f"env TERM=xterm-256color {PATHWAY} --home {home}")
    try:
        terminal.wait_for("lessons done")
        terminal.press("F4")
        terminal.wait_for("Mock interview")
        terminal.press("Enter")  # Today
        for done in range(2):
            terminal.wait_for(f"{done} done")
            terminal.wait_for("Enter to submit")
            terminal.press("1", "Enter")  # answer, then the card shows how to rate
            terminal.wait_for("Enter takes the suggestion")
            terminal.press("Enter")  # commit the suggested rating
        terminal.wait_for("2 done")
        pids = subprocess.run(["pgrep", "-f", "--", f"--home {home}"], capture_output=True, text=True).stdout.split()
        assert pids, "the app's process was not found"
        for pid in pids:
            os.kill(int(pid), signal.SIGKILL)
    finally:
        terminal.close()

    engine = open_database(home)
    with Session(engine) as session:
        logs = session.exec(select(ReviewLog)).all()
    engine.dispose()
    assert len(logs) == 2
    assert all(log.mode == "today" and log.rating in (1, 2, 3, 4) for log in logs)
