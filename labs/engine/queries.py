"""Read-only queries the dashboard and the command line poll: runs, metrics, progress, logs.

Metric reads use SQLAlchemy Core and plain tuples, not ORM objects: a run can
hold a million rows and the TUI polls twice a second. Poll incrementally:

    rows = metrics_since(engine, run_id)                      # first time: everything
    last_id = rows[-1].id if rows else 0
    rows = metrics_since(engine, run_id, after_id=last_id)    # then: only what is new
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from pathway.db.models import Metric, Run, utcnow
from pathway.errors import PathwayError
from pathway.labs.engine.status import ACTIVE, DONE

LOG_NAME = "run.log"


class MetricPoint(NamedTuple):
    """One metric row."""

    id: int
    step: int
    t: float  # seconds since the epoch
    name: str
    value: float
    rank: int


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands, for a progress bar and an ETA. Unknowns are None."""

    step: int
    total_steps: int | None
    fraction: float | None  # 0..1
    steps_per_s: float | None  # median over the recent reports
    eta_s: float | None
    elapsed_s: float | None  # time spent running, summed over its spans (a stop-to-resume pause is not counted)


def get_run(engine: Engine, run_id: int) -> Run:
    """The run row (detached); PathwayError when there is no such run."""
    with Session(engine, expire_on_commit=False) as session:
        run = session.get(Run, run_id)
    if run is None:
        raise PathwayError(f"There is no run {run_id}. `pathway lab status` lists the runs.")
    return run


def list_runs(engine: Engine, *, lab: str | None = None, status: str | Iterable[str] | None = None, limit: int | None = None) -> list[Run]:
    """Runs, newest first, optionally filtered by lab id and status (one or several)."""
    stmt = select(Run).order_by(Run.id.desc())
    if lab:
        stmt = stmt.where(Run.lab == lab)
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        stmt = stmt.where(Run.status.in_(statuses))
    if limit:
        stmt = stmt.limit(limit)
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(stmt).all())


def running_runs(engine: Engine) -> list[Run]:
    """Runs whose status is queued or running (call `jobs.reconcile` first to drop dead ones)."""
    return list_runs(engine, status=ACTIVE)


def metrics_since(
    engine: Engine,
    run_id: int,
    *,
    after_id: int = 0,
    after_step: int | None = None,
    names: Iterable[str] | None = None,
    limit: int | None = None,
) -> list[MetricPoint]:
    """Metric rows of a run with id > `after_id` (and step > `after_step`), in id order."""
    m = Metric.__table__.c
    stmt = sa.select(m.id, m.step, m.t, m.name, m.value, m.rank).where(m.run_id == run_id, m.id > after_id)
    if after_step is not None:
        stmt = stmt.where(m.step > after_step)
    if names is not None:
        stmt = stmt.where(m.name.in_(list(names)))
    stmt = stmt.order_by(m.id)
    if limit:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        return [MetricPoint(*row) for row in conn.execute(stmt)]


def recent_values(engine: Engine, run_id: int, name: str, limit: int = 200) -> list[float]:
    """The last `limit` values of one metric, oldest first: enough for a sparkline, cheap on huge runs."""
    m = Metric.__table__.c
    stmt = (
        sa.select(m.value)
        .where(m.run_id == run_id, m.name == name)
        .order_by(m.step.desc(), m.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(stmt)][::-1]


def latest_metrics(engine: Engine, run_id: int, names: Iterable[str] | None = None) -> dict[str, MetricPoint]:
    """The newest row of each metric name (of `names`, or of every name the run has)."""
    m = Metric.__table__.c
    with engine.connect() as conn:
        if names is None:
            names = [r[0] for r in conn.execute(sa.select(m.name).where(m.run_id == run_id).distinct())]
        out = {}
        for name in names:  # one index seek per name on (run_id, name, step)
            row = conn.execute(
                sa.select(m.id, m.step, m.t, m.name, m.value, m.rank)
                .where(m.run_id == run_id, m.name == name)
                .order_by(m.step.desc(), m.id.desc())
                .limit(1)
            ).first()
            if row is not None:
                out[name] = MetricPoint(*row)
    return out


def progress(engine: Engine, run: Run, *, rate_metric: str = "train/loss", window: int = 20) -> RunProgress:
    """Step, fraction done, speed over the last `window` reports of `rate_metric`, and ETA."""
    m = Metric.__table__.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(m.step, m.t).where(m.run_id == run.id, m.name == rate_metric).order_by(m.step.desc()).limit(window)
        ).all()
    # median of the recent report-to-report speeds: a pause (stop, then resume) is one outlier, not the average
    speeds = sorted((s1 - s0) / (t1 - t0) for (s1, t1), (s0, t0) in zip(rows, rows[1:]) if t1 > t0 and s1 > s0)
    rate = speeds[len(speeds) // 2] if speeds else None
    total = run.total_steps
    fraction = min(run.step / total, 1.0) if total else (1.0 if run.status in DONE else None)  # a lab with no step count
    eta = (total - run.step) / rate if (rate and total and run.status in ACTIVE) else None  # no ETA unless it runs
    return RunProgress(run.step, total, fraction, rate, eta, running_seconds(run))


def running_seconds(run: Run) -> float | None:
    """How long the run has run: from started_at (moved forward by each pause, see records.prepare_resume)
    to its finish, or to now while it runs. The one definition the TUI and the command line show."""
    if run.started_at is None:
        return None
    end = last_alive(run) if run.status not in ACTIVE else None
    return max(((end or utcnow()) - run.started_at).total_seconds(), 0.0)


def last_alive(run: Run):
    """When a finished run stopped running: its finish, or its last heartbeat when reconcile found it dead later."""
    if run.finished_at is None:
        return run.heartbeat_at
    return min(run.finished_at, run.heartbeat_at) if run.heartbeat_at else run.finished_at


def final_metrics(run: Run) -> dict[str, float]:
    """The metrics the lab returned at its end ({} while it runs)."""
    return json.loads(run.final_metrics) if run.final_metrics else {}


def log_path(run: Run) -> Path:
    """The runner's combined stdout/stderr file."""
    return Path(run.run_dir) / LOG_NAME


def tail_log(run: Run, lines: int = 50) -> str:
    """The last `lines` lines of the run's log ("" when there is none yet)."""
    path = log_path(run)
    if not path.exists():
        return ""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        return "".join(deque(fh, maxlen=lines))


def wait_for(engine: Engine, run_id: int, predicate, timeout: float = 30.0, poll: float = 0.1) -> Run:
    """Poll the run until `predicate(run)` holds; the run, or TimeoutError. Used by tests and scripts."""
    deadline = time.monotonic() + timeout
    while True:
        run = get_run(engine, run_id)
        if predicate(run):
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} did not reach the expected state within {timeout} s (status {run.status}, step {run.step})")
        time.sleep(poll)
