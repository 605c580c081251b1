"""The `pathway` command, run as the installed console script: exit codes and messages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pathway

PATHWAY = shutil.which("pathway") or str(Path(os.sys.executable).parent / "pathway")


def run(*args: str, home: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    if home is not None:
        env["PATHWAY_HOME"] = str(home)
    return subprocess.run([PATHWAY, *args], capture_output=True, text=True, env=env, timeout=120)


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"pathway {pathway.__version__}"


def test_content_check_on_good_fixture(content_dir: Path) -> None:
    result = run("--content-dir", str(content_dir), "content", "check", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["lessons"] == 3 and report["problems"] == []


def test_content_check_fails_on_a_broken_file(content_dir: Path) -> None:
    (content_dir / "lessons" / "week01" / "empty.md").write_text("")
    result = run("--content-dir", str(content_dir), "content", "check")
    assert result.returncode == 1
    assert "empty.md" in result.stdout and "is empty" in result.stdout


def test_stats_on_a_fresh_home(home: Path, content_dir: Path) -> None:
    result = run("--content-dir", str(content_dir), "stats", "--json", home=home)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["lessons_total"] == 3 and stats["lessons_completed"] == 0
    assert (home / "pathway.db").exists()


def test_corrupt_database_gives_one_paragraph_and_exit_2(home: Path) -> None:
    (home / "pathway.db").write_text("not sqlite at all")
    result = run("stats", home=home)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "is not a SQLite database" in result.stderr and str(home / "pathway.db") in result.stderr
    assert (home / "pathway.db").read_text() == "not sqlite at all"


def test_home_that_is_a_file_gives_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("--home", str(blocker), "stats")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and f"{blocker} is a file, not a folder" in result.stderr


def test_bad_usage_exits_2() -> None:
    result = run("no-such-command")
    assert result.returncode == 2


def test_the_cli_follows_lang_or_the_saved_language(home: Path, content_dir: Path) -> None:
    """LANG=zh_CN → Chinese; the language chosen in the app (Ctrl+L) → Chinese whatever LANG says; LC_ALL overrides both."""

    def stats(**env: str) -> str:
        environ = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES")}
        result = subprocess.run([PATHWAY, "--content-dir", str(content_dir), "stats"], capture_output=True, text=True,
                                env={**environ, "PATHWAY_HOME": str(home), **env}, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert stats(LANG="en_US.UTF-8").startswith("Lessons: 0 / 3 done")
    assert stats(LANG="zh_CN.UTF-8").startswith("课程：已学完 0 / 3")
    from pathway.db import progress
    from pathway.db.engine import open_database

    engine = open_database(home)
    progress.update_learner(engine, language="zh")
    engine.dispose()
    assert stats(LANG="en_US.UTF-8").startswith("课程：已学完 0 / 3")
    assert stats(LC_ALL="en_US.UTF-8", LANG="zh_CN.UTF-8").startswith("Lessons: 0 / 3 done")
