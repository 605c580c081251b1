"""A database that cannot be written: commands that write refuse in one paragraph, the TUI browses.

Two real ways to make it read-only, both giving SQLite's "attempt to write a readonly database":
- `chattr +i` on the file (root only, and the file system must support it);
- a file without write permission in a folder the process may write (for -shm), run as a
  user who does not own it: the test process itself when it is not root, else `nobody` via setpriv.
A read-only *folder* is refused earlier, by the home check; that is tested here too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from textual.widgets import Markdown

from pathway.db import progress
from pathway.db.engine import open_database, read_only_reason
from pathway.db.failures import DatabaseWriteError
from pathway.errors import PathwayError
from pathway.tui.app import make_app
from tui_helpers import open_mode, until, wait_ready

FIXTURE_CONTENT = Path(__file__).parent / "fixtures" / "content"
PATHWAY = str(Path(sys.executable).parent / "pathway")
IS_ROOT = os.geteuid() == 0
NOBODY = 65534


def chattr(path: Path, flag: str) -> bool:
    return shutil.which("chattr") is not None and subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


def make_home(base: Path) -> Path:
    """A home whose database holds one completed lesson; every connection closed (no -wal, -shm left)."""
    home = base / "home"
    home.mkdir(parents=True)
    engine = open_database(home)
    progress.open_lesson(engine, "w01-arrays")
    progress.set_lesson_complete(engine, "w01-arrays")
    engine.dispose()
    return home


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def immutable_home(tmp_path: Path):
    """A home whose database file carries the immutable flag."""
    if not IS_ROOT:
        pytest.skip("chattr +i needs root; the permission-based variant covers other users")
    home = make_home(tmp_path)
    db = home / "pathway.db"
    if not chattr(db, "+i"):
        pytest.skip("this file system does not support chattr +i")
    yield home
    chattr(db, "-i")


@pytest.fixture
def unwritable_file_home():
    """(home, run_as): a database file the running user may read but not write, in a folder it may write.

    Lives under a world-readable temporary folder, because the test may run the CLI as `nobody`.
    """
    if IS_ROOT and shutil.which("setpriv") is None:
        pytest.skip("root ignores file permissions, and setpriv (to run as nobody) is missing")
    base = Path(tempfile.mkdtemp(prefix="pathway-ro-"))
    base.chmod(0o755)
    try:
        home = make_home(base)
        home.chmod(0o777)  # the reader creates the -shm file beside the database
        (home / "pathway.db").chmod(0o444)
        yield home, (NOBODY if IS_ROOT else None)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_cli(home: Path, *args: str, as_user: int | None = None) -> subprocess.CompletedProcess:
    command = [PATHWAY, "--home", str(home), "--content-dir", str(FIXTURE_CONTENT), *args]
    if as_user is not None:
        command = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": "/tmp"})


def check_writers_refuse(home: Path, tmp_path: Path, as_user: int | None = None) -> None:
    db = home / "pathway.db"
    before = digest(db)
    progress_file = tmp_path / "progress.json"
    exported = run_cli(home, "export", str(progress_file), as_user=as_user)
    assert exported.returncode == 0, exported.stderr  # reading still works
    stats = run_cli(home, "stats", as_user=as_user)
    assert stats.returncode == 0 and "1 / 3 done" in stats.stdout, stats.stderr
    for args in (("lab", "run", "mlp-digits"), ("import", "--replace", str(progress_file))):
        result = run_cli(home, *args, as_user=as_user)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert str(db) in result.stderr and "cannot be written" in result.stderr and "--home" in result.stderr
        assert "Traceback" not in result.stderr and "sqlalchemy" not in result.stderr.lower()
        assert len(result.stderr.strip().splitlines()) == 1, "one paragraph"
    assert digest(db) == before


def test_immutable_database_cli_writers_refuse_readers_work(immutable_home: Path, tmp_path: Path) -> None:
    check_writers_refuse(immutable_home, tmp_path)


def test_unwritable_database_file_cli_writers_refuse_readers_work(unwritable_file_home, tmp_path: Path) -> None:
    home, as_user = unwritable_file_home
    out = Path(tempfile.mkdtemp(prefix="pathway-ro-out-"))
    out.chmod(0o777)
    try:
        check_writers_refuse(home, out, as_user)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_read_only_home_folder_is_refused_by_the_home_check(unwritable_file_home) -> None:
    home, as_user = unwritable_file_home
    home.chmod(0o555)
    result = run_cli(home, "stats", as_user=as_user)
    assert result.returncode == 2
    assert f"cannot write to its home directory {home}" in result.stderr and "--home" in result.stderr
    assert "Traceback" not in result.stderr


def test_open_database_refuses_writers_and_lets_readers_in(immutable_home: Path) -> None:
    with pytest.raises(PathwayError) as info:
        open_database(immutable_home)
    assert "cannot be written" in info.value.message
    engine = open_database(immutable_home, allow_read_only=True)
    try:
        assert read_only_reason(immutable_home) is not None
        assert progress.lesson_progress(engine)["w01-arrays"].status == "completed"
        with pytest.raises(DatabaseWriteError) as write:
            progress.open_lesson(engine, "w01-layout")
        assert str(immutable_home / "pathway.db") in write.value.message
    finally:
        engine.dispose()


async def test_tui_browses_an_immutable_database_and_says_nothing_is_saved(immutable_home: Path) -> None:
    db = immutable_home / "pathway.db"
    before = digest(db)
    app = make_app(home=immutable_home, content_dir=FIXTURE_CONTENT)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        assert app.data.read_only is not None
        notes = lambda: [n.message for n in app._notifications]  # noqa: E731
        assert any("cannot be written" in n and "Quiz stays closed" in n for n in notes())

        await open_mode(pilot, "f3")  # Learn opens the last lesson; opening it writes, which fails
        screen = app.screen
        await until(pilot, lambda: screen.lesson_id == "w01-arrays", what="the lesson opening")
        await until(pilot, lambda: "Why it matters" in screen.query_one("#lesson", Markdown).source, what="the lesson text")
        await pilot.press("down", "enter")  # another lesson, never opened before
        await until(pilot, lambda: screen.lesson_id == "w01-layout", what="the second lesson opening")
        await pilot.press("c")
        await until(pilot, lambda: any("not saved" in n for n in notes()), what="a 'not saved' toast")

        await pilot.press("f4")  # Quiz would lose every answer: refused with a toast
        await until(pilot, lambda: any("Quiz is closed" in n for n in notes()), what="Quiz refusing")
        assert app.screen is screen
        app.theme = "textual-light"  # lasts this session; saving it fails quietly
        await pilot.pause(0.2)
        assert app.is_running and app._exception is None
    assert digest(db) == before


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)")
def test_tui_in_a_terminal_opens_a_lesson_on_an_immutable_database(immutable_home: Path, tmp_path: Path) -> None:
    import time

    from test_e2e_tmux import Terminal

    db = immutable_home / "pathway.db"
    before = digest(db)
    exit_file = tmp_path / "exit-code"
    env = f"PATHWAY_HOME={immutable_home} TERM=xterm-256color"
    terminal = Terminal(f"env {env} {PATHWAY} --content-dir {FIXTURE_CONTENT}; echo $? > {exit_file}", width=100, height=30)
    try:
        terminal.wait_for("Read-only: progress is not saved")
        terminal.press("Enter")  # Continue: opens the last lesson
        terminal.wait_for("Why it matters")
        terminal.press("c")
        screen = terminal.wait_for("Marking the lesson")
        assert "Traceback" not in screen
        terminal.press("q")
        terminal.wait_for("lessons done")
        terminal.press("q")
        deadline = time.monotonic() + 15
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert exit_file.read_text().strip() == "0"
    finally:
        terminal.close()
    assert digest(db) == before
