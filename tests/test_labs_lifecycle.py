"""Runner lifecycle end to end: real runner processes, the real MLP lab, a real SQLite file.

start -> metrics arrive -> stop (SIGINT, checkpoint) -> resume continues the
step count -> kill -9 -> reconcile says interrupted -> resume works -> a stop
that has to escalate to SIGTERM still ends as "stopped". Plus a crashing lab.
Divergence is tested through the command line (test_labs_cli.py).
"""

from __future__ import annotations

import gzip
import io
import os
import signal
import struct

import pytest

from pathway.db.engine import open_database
from pathway.labs.engine import jobs

pytestmark = pytest.mark.slow

# Long enough to stop in the middle, small enough to start fast; 1 thread keeps 2 cores free for the rest.
LONG = {"steps": 200_000, "log_interval": 10, "eval_interval": 500, "ckpt_interval": 100, "threads": 1, "hidden": 32}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PATHWAY_HOME", str(tmp_path))
    monkeypatch.delenv("PATHWAY_DB_URL", raising=False)
    monkeypatch.setenv("PATHWAY_GPU", "fake:1")  # the runner's sampler reads the fake GPU provider
    return tmp_path


@pytest.fixture
def engine(home):
    engine = open_database(home)
    yield engine
    for run in jobs.list_runs(engine):  # never leave a runner behind
        if jobs.is_alive(run):
            os.killpg(run.pid, signal.SIGKILL)
    engine.dispose()


def loss_steps(engine, run_id: int) -> list[int]:
    return [p.step for p in jobs.metrics_since(engine, run_id, names=["train/loss"])]


def test_start_stop_resume_kill_reconcile_resume(engine, home):
    run_id = jobs.start(engine, home, "mlp-digits", LONG)

    # metrics arrive while it runs
    run = jobs.wait_for(engine, run_id, lambda r: r.status == "running" and r.step >= 300, timeout=60)
    assert run.pid and run.pid_create_time and run.total_steps == LONG["steps"]
    names = {p.name for p in jobs.metrics_since(engine, run_id)}
    assert {"train/loss", "train/lr", "train/samples_per_s"} <= names
    jobs.wait_for(engine, run_id, lambda r: "sys/cpu_percent" in jobs.latest_metrics(engine, run_id), timeout=10)
    latest = jobs.latest_metrics(engine, run_id)
    assert "sys/rss_mb" in latest and "gpu0/util" in latest and "gpu0/job_mem_mb" in latest

    # stop: SIGINT, the lab checkpoints and the runner records "stopped"
    assert jobs.stop(engine, run_id) == "stopped"
    stopped = jobs.get_run(engine, run_id)
    assert stopped.error is None and stopped.finished_at is not None
    assert (home / "runs" / str(run_id) / "checkpoint.pt").exists()
    stop_step = stopped.step
    assert stop_step >= 300

    # resume: same run id, the curve continues at the same step, nothing duplicated
    assert jobs.resume(engine, home, run_id) == run_id
    jobs.wait_for(engine, run_id, lambda r: r.status == "running" and r.step >= stop_step + 200, timeout=60)
    steps = loss_steps(engine, run_id)
    assert len(steps) == len(set(steps)), "a step was reported twice"
    assert min(s for s in steps if s > stop_step) <= stop_step + LONG["log_interval"]
    assert "resumed from checkpoint at step" in jobs.tail_log(jobs.get_run(engine, run_id), 200)

    # kill -9 the runner: the row still says running until reconcile looks at it
    pid = jobs.get_run(engine, run_id).pid
    os.kill(pid, signal.SIGKILL)
    jobs.wait_for(engine, run_id, lambda r: not jobs.is_alive(r), timeout=10)
    assert jobs.get_run(engine, run_id).status == "running"
    assert jobs.reconcile(engine) == [run_id]
    killed = jobs.get_run(engine, run_id)
    assert killed.status == "interrupted" and "resume" in killed.error

    # resume after the kill: back to the last periodic checkpoint, and on from there
    jobs.resume(engine, home, run_id)
    resumed = jobs.wait_for(engine, run_id, lambda r: r.status == "running" and r.step > killed.step, timeout=60)
    assert resumed.step > killed.step - LONG["ckpt_interval"] - LONG["log_interval"]
    steps = loss_steps(engine, run_id)
    assert len(steps) == len(set(steps))

    # a stop with no grace escalates to SIGTERM and still ends as "stopped"
    assert jobs.stop(engine, run_id, grace_s=0.0) == "stopped"
    assert not jobs.is_alive(jobs.get_run(engine, run_id))
    assert jobs.reconcile(engine) == []


def _write_idx(path, magic_type: int, dims: tuple[int, ...], payload: bytes) -> None:
    header = bytes([0, 0, magic_type, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(header + payload)


def test_a_crashing_lab_is_failed_with_its_traceback(engine, home, tmp_path):
    data = tmp_path / "mnist"
    data.mkdir()
    # the files exist (so the settings check passes) but the images are truncated: the lab crashes reading them
    _write_idx(data / "train-images-idx3-ubyte.gz", 0x08, (100, 28, 28), b"\x00" * 500)
    _write_idx(data / "train-labels-idx1-ubyte", 0x08, (100,), b"\x01" * 100)
    _write_idx(data / "t10k-images-idx3-ubyte", 0x08, (10, 28, 28), b"\x00" * 7840)
    _write_idx(data / "t10k-labels-idx1-ubyte", 0x08, (10,), b"\x01" * 10)
    run_id = jobs.start(engine, home, "mlp-digits", {"data_dir": str(data), "threads": 1})
    run = jobs.wait_for(engine, run_id, lambda r: r.status not in ("queued", "running"), timeout=60)
    assert run.status == "failed"
    assert "Traceback (most recent call last)" in run.error
    assert "ValueError" in run.error and "reshape" in run.error
    assert "Traceback" in jobs.tail_log(run, 100)  # and the log has it too


def test_sigterm_inside_torch_save_counts_as_the_stop_not_a_crash():
    """torch.save's zip writer turns an interrupt mid-record into its own RuntimeError; the runner sees through it."""
    torch = pytest.importorskip("torch")
    from pathway.labs.engine.runner import Terminated, raised_while_terminating

    class InterruptedFile(io.BytesIO):
        writes = 0

        def write(self, data):
            self.writes += 1
            if self.writes == 3:  # SIGTERM's handler raises Terminated somewhere inside the save
                raise Terminated()
            return super().write(data)

    with pytest.raises(BaseException) as caught:
        torch.save({"weights": torch.zeros(1000)}, InterruptedFile())
    assert raised_while_terminating(caught.value)
    assert not raised_while_terminating(RuntimeError("a lab's own bug"))
