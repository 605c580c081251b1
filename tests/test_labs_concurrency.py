"""Four labs at once plus the app answering quiz questions: no lock errors, no lost metric batches."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from pathway.db.engine import open_database
from pathway.db.models import Metric, ReviewLog, utcnow
from pathway.labs.engine import jobs

pytestmark = pytest.mark.slow

STEPS = 1000
# log every step: ~3,000 metric rows per run, so the four writers really contend
TINY = {"steps": STEPS, "log_interval": 1, "eval_interval": 250, "ckpt_interval": 500, "threads": 1, "hidden": 32}


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setenv("PATHWAY_HOME", str(tmp_path))
    monkeypatch.delenv("PATHWAY_DB_URL", raising=False)
    monkeypatch.setenv("PATHWAY_GPU", "fake:2")
    engine = open_database(tmp_path)
    yield engine
    for run in jobs.list_runs(engine):
        if jobs.is_alive(run):
            os.killpg(run.pid, signal.SIGKILL)
    engine.dispose()


def quiz_writer(engine, stop: threading.Event, errors: list, written: list) -> None:
    """What the TUI does while labs run: one committed row per rated answer."""
    n = 0
    while not stop.is_set():
        try:
            with Session(engine) as session:
                session.add(ReviewLog(question_id=f"q{n % 50}", rating=3, reviewed_at=utcnow(), duration_ms=1200))
                session.commit()
            n += 1
        except sa.exc.OperationalError as exc:
            errors.append(str(exc))
        time.sleep(0.02)
    written.append(n)


def test_four_labs_and_quiz_answers_share_the_database(engine, tmp_path):
    stop, errors, written = threading.Event(), [], []
    writer = threading.Thread(target=quiz_writer, args=(engine, stop, errors, written))
    writer.start()
    try:
        run_ids = [jobs.start(engine, tmp_path, "mlp-digits", dict(TINY, seed=i)) for i in range(4)]
        runs = [jobs.wait_for(engine, r, lambda r: r.status not in ("queued", "running"), timeout=120) for r in run_ids]
    finally:
        stop.set()
        writer.join()

    assert [r.status for r in runs] == ["succeeded"] * 4, [r.error for r in runs]
    assert errors == [], errors[:3]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(ReviewLog)).one() == written[0] > 0
        for run_id in run_ids:
            counts = dict(
                session.exec(
                    select(Metric.name, func.count()).where(Metric.run_id == run_id).group_by(Metric.name)
                ).all()
            )
            # every reported row is there: one per step per train metric, one per eval
            assert counts["train/loss"] == counts["train/lr"] == counts["train/samples_per_s"] == STEPS
            assert counts["eval/loss"] == counts["eval/acc"] == STEPS // 250
            assert counts.get("sys/cpu_percent", 0) >= 1 and counts.get("gpu1/power_w", 0) >= 1
    for run in runs:
        log = jobs.tail_log(run, 1000)
        assert "database is locked" not in log and "write failed" not in log, log
