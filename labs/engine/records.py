"""Writes to a run's row: created, claimed by its runner, finished, reconciled.

Each write is one short transaction. SQLite's busy_timeout already waits for
other writers; `_write` retries a few more times on top, because the final
status of a run is the one row that must never be lost.
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from typing import Any

import psutil
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pathway.db.models import Run, utcnow
from pathway.errors import PathwayError

from pathway.labs.engine.status import ACTIVE, FINISHED  # noqa: F401 - re-exported for the engine


def _write(engine: Engine, run_id: int, attempts: int = 5, **values: Any) -> None:
    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                conn.execute(sa.update(Run.__table__).where(Run.id == run_id).values(**values))
            return
        except sa.exc.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def create(engine: Engine, lab_id: str, overrides: dict[str, Any]) -> int:
    """A queued row for a new run; returns its id."""
    with engine.begin() as conn:
        result = conn.execute(
            sa.insert(Run.__table__).values(
                lab=lab_id, config=json.dumps(overrides), status="queued", created_at=utcnow(), run_dir="", step=0
            )
        )
        return int(result.inserted_primary_key[0])


def set_portfolio(engine: Engine, run_id: int, chosen: bool) -> None:
    """Put a run in `pathway portfolio` (p on the Labs screen), or take it out."""
    _write(engine, run_id, portfolio=chosen)


def set_run_dir(engine: Engine, run_id: int, run_dir: str) -> None:
    _write(engine, run_id, run_dir=run_dir)


def load(engine: Engine, run_id: int) -> Run:
    """The run row, detached from any session; PathwayError if there is none."""
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as session:
        run = session.get(Run, run_id)
    if run is None:
        raise PathwayError(f"There is no run {run_id}. `pathway lab status` lists the runs.")
    return run


def process_create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def claim(engine: Engine, run_id: int) -> Run:
    """Called by the runner as it starts: this process now owns the run."""
    pid = os.getpid()
    run = load(engine, run_id)
    now = utcnow()
    _write(
        engine, run_id, status="running", pid=pid, pid_create_time=process_create_time(pid),
        heartbeat_at=now, started_at=run.started_at or now, finished_at=None, error=None,
    )
    return load(engine, run_id)


def set_effective_config(engine: Engine, run_id: int, config: dict[str, Any], device: str) -> None:
    """The full config the lab runs with (defaults for this device filled in)."""
    _write(engine, run_id, config=json.dumps(config), device=device)


def finish(engine: Engine, run_id: int, status: str, *, error: str | None = None, final_metrics: dict | None = None) -> None:
    """The run's last word: status, error or final metrics, finish time."""
    values: dict[str, Any] = {"status": status, "error": error, "finished_at": utcnow(), "heartbeat_at": utcnow()}
    if final_metrics is not None:
        values["final_metrics"] = json.dumps({k: float(v) for k, v in final_metrics.items()})
    _write(engine, run_id, **values)


def mark(engine: Engine, run_id: int, status: str, error: str | None = None, *, only_if_active: bool = True) -> bool:
    """Set a final status from outside the runner (stop, reconcile); True if the row changed.

    With `only_if_active`, a row the runner already finished is left alone, so a
    race between a runner's own last write and a reconcile cannot overwrite it.
    """
    stmt = sa.update(Run.__table__).where(Run.id == run_id)
    if only_if_active:
        stmt = stmt.where(Run.status.in_(ACTIVE))
    with engine.begin() as conn:
        result = conn.execute(stmt.values(status=status, error=error, finished_at=utcnow()))
    return result.rowcount > 0


def prepare_resume(engine: Engine, run_id: int) -> None:
    """Back to queued before a new runner takes the run over.

    `started_at` moves forward by the time the run spent stopped, so that
    `queries.running_seconds` (now or finished_at, minus started_at) is the sum
    of the spans it ran, everywhere it is shown, without a column for it.
    """
    from pathway.labs.engine.queries import last_alive

    run = load(engine, run_id)
    started, ended = run.started_at, last_alive(run)
    if started is not None and ended is not None:
        started = utcnow() - max(ended - started, timedelta(0))
    _write(engine, run_id, status="queued", error=None, finished_at=None, pid=None, pid_create_time=None, started_at=started)


def set_process(engine: Engine, run_id: int, pid: int) -> None:
    """Record the launched runner's pid right away, so reconcile can judge a runner that dies early."""
    _write(engine, run_id, pid=pid, pid_create_time=process_create_time(pid))
