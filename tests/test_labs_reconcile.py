"""Reconcile judges runs marked active by their process and heartbeat (rows only, no runner needed)."""

from __future__ import annotations

import os
from datetime import timedelta

import psutil
import pytest
import sqlalchemy as sa

from pathway.db.engine import open_database
from pathway.db.models import Run, utcnow
from pathway.labs.engine import jobs, records
from pathway.labs.engine.reporter import Reporter


@pytest.fixture
def engine(tmp_path):
    engine = open_database(tmp_path)
    yield engine
    engine.dispose()


def make_run(engine, *, status="running", pid=None, create_time=None, heartbeat_age_s=0.0, created_age_s=0.0) -> int:
    run_id = records.create(engine, "mlp-digits", {})
    with engine.begin() as conn:
        conn.execute(
            sa.update(Run.__table__).where(Run.id == run_id).values(
                status=status, pid=pid, pid_create_time=create_time,
                heartbeat_at=utcnow() - timedelta(seconds=heartbeat_age_s),
                created_at=utcnow() - timedelta(seconds=created_age_s),
            )
        )
    return run_id


def dead_pid() -> int:
    pid = 999_999
    while psutil.pid_exists(pid):
        pid -= 1
    return pid


def test_live_fresh_run_is_left_alone(engine):
    me = psutil.Process()
    run_id = make_run(engine, pid=me.pid, create_time=me.create_time())
    assert jobs.reconcile(engine) == []
    assert jobs.get_run(engine, run_id).status == "running"


def test_dead_reused_and_silent_runners_are_interrupted(engine):
    me = psutil.Process()
    dead = make_run(engine, pid=dead_pid(), create_time=1.0)
    reused = make_run(engine, pid=me.pid, create_time=me.create_time() - 1000)  # same pid, another process
    silent = make_run(engine, pid=me.pid, create_time=me.create_time(), heartbeat_age_s=120)
    assert sorted(jobs.reconcile(engine)) == sorted([dead, reused, silent])
    for run_id in (dead, reused, silent):
        run = jobs.get_run(engine, run_id)
        assert run.status == "interrupted" and "resume the run to continue from its last checkpoint" in run.error
    assert "no heartbeat" in jobs.get_run(engine, silent).error
    assert jobs.reconcile(engine) == []  # idempotent


def test_a_runner_that_never_started_the_lab_is_failed(engine):
    died = make_run(engine, status="queued", pid=dead_pid())
    never = make_run(engine, status="queued", created_age_s=600)
    waiting = make_run(engine, status="queued", pid=os.getpid(), create_time=psutil.Process().create_time())
    assert sorted(jobs.reconcile(engine)) == sorted([died, never])
    assert jobs.get_run(engine, died).status == "failed" and "log says why" in jobs.get_run(engine, died).error
    assert jobs.get_run(engine, waiting).status == "queued"


def test_a_heartbeat_revives_a_run_marked_interrupted_while_it_was_suspended(engine, tmp_path):
    run_id = make_run(engine, pid=os.getpid(), create_time=psutil.Process().create_time(), heartbeat_age_s=120)
    assert jobs.reconcile(engine) == [run_id]
    reporter = Reporter(engine, run_id, tmp_path)
    reporter.step(5, **{"train/loss": 0.5})
    assert reporter.flush()
    run = jobs.get_run(engine, run_id)
    assert run.status == "running" and run.step == 5
    assert run.error is None and run.finished_at is None


def test_a_finished_run_is_never_overwritten(engine):
    run_id = make_run(engine, status="succeeded", pid=dead_pid())
    assert jobs.reconcile(engine) == []
    assert records.mark(engine, run_id, "interrupted") is False
    assert jobs.get_run(engine, run_id).status == "succeeded"
