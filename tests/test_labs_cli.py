"""`pathway lab ...` end to end: real runners, exit codes, JSON status, logs, Ctrl+C on a followed run."""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time

import pytest

from pathway.db.engine import open_database
from pathway.errors import PathwayError
from pathway.cli import labs as commands
from pathway.labs.engine import jobs

pytestmark = pytest.mark.slow


def cli(*argv: str) -> int:
    """The lab subcommands as `pathway` runs them: a PathwayError becomes its exit code."""
    parser = argparse.ArgumentParser(prog="pathway")
    parser.add_argument("--home")
    commands.add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except PathwayError as exc:
        print(f"pathway: {exc.message}")
        return exc.exit_code


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PATHWAY_HOME", str(tmp_path))
    monkeypatch.delenv("PATHWAY_DB_URL", raising=False)
    monkeypatch.setenv("PATHWAY_GPU", "none")
    yield tmp_path
    engine = open_database(tmp_path)
    for run in jobs.list_runs(engine):
        if jobs.is_alive(run):
            os.killpg(run.pid, signal.SIGKILL)
    engine.dispose()


def test_list_and_bad_settings(home, capsys):
    assert cli("lab", "list") == 0
    assert "mlp-digits" in capsys.readouterr().out
    assert cli("lab", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["id"] == "mlp-digits" and listed[0]["lesson_ids"] and "lr" in listed[0]["settings"]
    assert {g["metric"] for g in listed[0]["goals"]} == {"eval/acc", "eval/loss"}  # what success means

    assert cli("lab", "run", "mlp-digits", "--set", "steps=-1") == 2
    assert "steps=-1 is out of range" in capsys.readouterr().out
    assert cli("lab", "run", "no-such-lab") == 2
    assert "No lab named 'no-such-lab'" in capsys.readouterr().out
    assert cli("lab", "status", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []  # nothing was started
    assert cli("lab", "status", "99") == 2


def status(run_id: int, capsys) -> dict:
    assert cli("lab", "status", str(run_id), "--json") == 0
    return json.loads(capsys.readouterr().out)


# The test process holds no database connection of its own while `cli` runs: open_database reads the
# file header with open()/close(), which drops this process's SQLite locks (see labs/commands.py).
def test_follow_ctrl_c_stops_then_status_logs_resume_stop(home, capsys):
    settings = ["--set", "steps=200000", "--set", "hidden=32", "--set", "ckpt_interval=100"]
    log = home / "runs" / "1" / "run.log"

    def press_ctrl_c():  # like a terminal: SIGINT to the foreground process, once the run is training
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if log.exists() and "step 200/" in log.read_text():
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.1)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    assert cli("lab", "run", "mlp-digits", *settings) == 130
    out = capsys.readouterr().out
    assert "Stopping run 1" in out and "run 1: stopped" in out

    info = status(1, capsys)
    assert info["status"] == "stopped" and info["step"] >= 200 and info["total_steps"] == 200000
    assert info["config"]["hidden"] == 32 and info["device"] == "cpu" and "train/loss" in info["latest"]
    assert cli("lab", "status") == 0
    assert "stopped" in capsys.readouterr().out

    assert cli("lab", "logs", "1") == 0
    assert "stopped at step" in capsys.readouterr().out

    # resume, and stop again at once: a SIGINT that lands while the runner is still importing torch
    assert cli("lab", "resume", "1", "--detach") == 0
    assert cli("lab", "resume", "1") == 2  # already queued or running
    assert cli("lab", "stop", "1") == 0
    assert "run 1: stopped" in capsys.readouterr().out
    assert status(1, capsys)["step"] >= info["step"]  # nothing was rewound past the checkpoint
    assert cli("lab", "stop", "1") == 0
    assert "not running" in capsys.readouterr().out


def test_followed_run_that_diverges_exits_1_with_a_hint(home, capsys):
    code = cli("lab", "run", "mlp-digits", "--set", "steps=60", "--set", "log_interval=5", "--set", "inject_nan_at=12")
    assert code == 1
    captured = capsys.readouterr()
    assert "run 1: diverged" in captured.out
    assert "train/loss became nan at step 15" in captured.err
    assert "learning rate" in captured.err and "AMP" in captured.err
    info = status(1, capsys)
    assert info["status"] == "diverged" and info["step"] == 15
    assert info["latest"]["train/loss"] > 0  # NaN is not stored: the curve ends at the last finite point


def test_the_progress_line_follows_the_metric_the_lab_charts_first() -> None:
    from pathway.cli.lab_follow import followed_metric

    assert followed_metric("bpe-tokenizer") == "eval/bytes_per_token"  # it reports no loss at all
    assert followed_metric("mlp-digits") == "train/loss"
    assert followed_metric("mixed-precision") == "train/loss"  # its chart names a pattern, not a metric
