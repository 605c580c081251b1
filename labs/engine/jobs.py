"""Start, stop, resume and reconcile lab runs: the API the command line and the TUI share.

A run is a row in the database plus a runner process (`pathway.labs.engine.runner`)
in its own session, so closing the TUI or the shell never stops it. Nothing
here imports torch; the runner does, in its own process.

    engine = open_database(home)
    reconcile(engine)                      # at start: dead runners -> interrupted
    run_id = start(engine, home, "mlp-digits", {"steps": 500})
    stop(engine, run_id)                   # SIGINT, then SIGTERM, then SIGKILL -> 'stopped'
    resume(engine, home, run_id)           # same run id, continues the step count

Queries for the dashboard (`list_runs`, `metrics_since`, ...) live in
`pathway.labs.engine.queries` and are re-exported here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping

import psutil
from sqlalchemy.engine import Engine

from pathway.db.models import Run, utcnow
from pathway.errors import PathwayError
from pathway.home import runs_dir
from pathway.labs import catalog
from pathway.labs.engine import records
from pathway.labs.engine.status import DONE
from pathway.labs.engine.queries import LOG_NAME
from pathway.labs.engine.queries import (  # re-exported: one import for the UI
    MetricPoint,
    RunProgress,
    final_metrics,
    get_run,
    latest_metrics,
    list_runs,
    log_path,
    metrics_since,
    progress,
    recent_values,
    running_runs,
    running_seconds,
    tail_log,
    wait_for,
)

__all__ = [
    "start", "stop", "resume", "reconcile", "is_alive",
    # queries, re-exported
    "MetricPoint", "RunProgress", "final_metrics", "get_run", "latest_metrics", "list_runs", "log_path",
    "metrics_since", "progress", "recent_values", "running_runs", "running_seconds", "tail_log", "wait_for",
]

STOP_GRACE_S = 20.0  # SIGINT -> checkpoint -> exit; a big model's checkpoint takes a while
TERM_GRACE_S = 5.0
STALE_HEARTBEAT_S = 30.0  # the writer beats every second; 30 s also covers a busy database
QUEUED_TIMEOUT_S = 120.0  # a runner that never claimed its row in 2 minutes is not coming

_children: dict[int, subprocess.Popen] = {}  # runners started by this process, reaped as they end


def _reap() -> None:
    """Collect exit codes of our own finished runners, so their pids do not linger as zombies."""
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            _children.pop(pid, None)  # pop: two UI threads may reap at once


def is_alive(run: Run) -> bool:
    """True when the run's runner process still exists (same pid and same create time)."""
    if not run.pid:
        return False
    _reap()
    try:
        proc = psutil.Process(run.pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        created = proc.create_time()
    except psutil.Error:
        return False
    # a pid reused by another program has another create time
    return run.pid_create_time is None or abs(created - run.pid_create_time) < 0.05


def _launch(home: Path, run_id: int, run_dir: Path, resume: bool) -> int:
    """Start the runner in its own session, output appended to run.log; returns its pid."""
    cmd = [sys.executable, "-m", "pathway.labs.engine.runner", "--home", str(home), "--run", str(run_id)]
    if resume:
        cmd.append("--resume")
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    with open(run_dir / LOG_NAME, "ab") as log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=env, cwd=run_dir, start_new_session=True, close_fds=True,
        )
    _children[proc.pid] = proc
    return proc.pid


def start(engine: Engine, home: Path, lab_id: str, overrides: Mapping[str, Any] | None = None) -> int:
    """Validate the settings, record a queued run and launch its runner; returns the run id.

    `overrides` are the settings the learner chose (strings or native values);
    they are checked on the defaults of the device the run will land on (a GPU
    when NVML sees one and `device` allows it); the runner fills those defaults
    in. Raises PathwayError (nothing started) when a setting is wrong.
    """
    overrides = overrides or {}
    cuda = catalog.runs_on_cuda(overrides, catalog.visible_gpu_count())
    values = catalog.validate_config(lab_id, overrides, cuda=cuda)
    run_id = records.create(engine, lab_id, values)
    run_dir = runs_dir(Path(home)) / str(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    records.set_run_dir(engine, run_id, str(run_dir))
    _launch_or_fail(engine, Path(home), run_id, run_dir, resume=False)
    return run_id


def _launch_or_fail(engine: Engine, home: Path, run_id: int, run_dir: Path, resume: bool) -> None:
    try:
        pid = _launch(home, run_id, run_dir, resume)
    except OSError as exc:  # no python, no disk space, too many processes: say so on the row too
        message = f"Could not start the runner process: {exc}"
        records.mark(engine, run_id, "failed", message)
        raise PathwayError(message, exit_code=1) from exc
    records.set_process(engine, run_id, pid)


def resume(engine: Engine, home: Path, run_id: int) -> int:
    """Relaunch a stopped, interrupted or failed run from its last checkpoint; returns the run id."""
    run = get_run(engine, run_id)
    if run.status in records.ACTIVE and is_alive(run):
        raise PathwayError(f"Run {run_id} is still {run.status}; there is nothing to resume.")
    if run.status in DONE:  # every step ran: a resume would have nothing to do
        raise PathwayError(f"Run {run_id} already finished ({run.status}). Start a new one with `pathway lab run {run.lab}`.")
    run_dir = Path(run.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    records.prepare_resume(engine, run_id)
    _launch_or_fail(engine, Path(home), run_id, run_dir, resume=True)
    return run_id


def _signal_group(run: Run, sig: int) -> bool:
    """Send `sig` to the runner's process group (it leads its own session); False if gone."""
    try:
        os.killpg(run.pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _wait_dead(run: Run, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(run):
            return True
        time.sleep(0.1)
    return not is_alive(run)


def stop(engine: Engine, run_id: int, *, wait: bool = True, grace_s: float = STOP_GRACE_S, term_s: float = TERM_GRACE_S) -> str:
    """Stop a run: SIGINT (the lab saves a checkpoint), then SIGTERM, then SIGKILL; returns the status.

    With `wait=False` only SIGINT is sent and "stopping" returned; the TUI
    should call the waiting form from a thread worker instead, so a lab that
    ignores SIGINT is still ended. Stopping a finished run returns its status.
    """
    run = get_run(engine, run_id)
    if not is_alive(run):
        if run.status in records.ACTIVE:
            records.mark(engine, run_id, "interrupted", "The runner process was gone before the stop.")
        return get_run(engine, run_id).status
    _signal_group(run, signal.SIGINT)
    if not wait:
        return "stopping"
    note = None
    if not _wait_dead(run, grace_s):
        _signal_group(run, signal.SIGTERM)
        note = f"Did not stop within {grace_s:.0f} s of SIGINT; ended with SIGTERM."
        if not _wait_dead(run, term_s):
            _signal_group(run, signal.SIGKILL)
            note = f"Did not stop within {grace_s + term_s:.0f} s; killed. Resume starts from the last periodic checkpoint."
            _wait_dead(run, 5.0)
    records.mark(engine, run_id, "stopped", note)  # no-op when the runner recorded its own ending
    return get_run(engine, run_id).status


def reconcile(engine: Engine, *, stale_after_s: float = STALE_HEARTBEAT_S) -> list[int]:
    """Mark runs whose runner is gone as interrupted (or failed, if it never started); returns their ids.

    A run counts as gone when its pid is dead, belongs to another process
    (create time differs), or its heartbeat is older than `stale_after_s`.
    """
    changed = []
    now = utcnow()
    for run in list_runs(engine, status=records.ACTIVE):
        alive = is_alive(run)
        if run.status == "queued":
            age = (now - run.created_at).total_seconds() if run.created_at else 0
            if (run.pid and not alive) or (not run.pid and age > QUEUED_TIMEOUT_S):
                message = "The runner ended before it started the lab; the run's log says why."
                if records.mark(engine, run.id, "failed", message):
                    changed.append(run.id)
            continue
        stale = run.heartbeat_at is None or now - run.heartbeat_at > timedelta(seconds=stale_after_s)
        if not alive or stale:
            why = "its process is gone" if not alive else f"no heartbeat for over {stale_after_s:.0f} s"
            message = f"The runner stopped reporting ({why}); resume the run to continue from its last checkpoint."
            if records.mark(engine, run.id, "interrupted", message):
                changed.append(run.id)
    return changed
