"""The ddp lab: torchrun ranks that report per rank, match a single process to 1e-5, never share a port, stop cleanly.

Real runner processes, real torchrun, real gloo, a real SQLite file. The FSDP
code path is rejected on CPU for learners, but gloo runs it, so the last test
drives the ranks directly to keep that path tested on machines without a GPU.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

import psutil
import pytest

from lab_helpers import run_to_the_end

from pathway.errors import PathwayError
from pathway.labs import catalog
from pathway.labs.engine import jobs
from pathway.labs.programs.ddp.spec import _cpu_cores

pytestmark = pytest.mark.slow

TINY = {"steps": 40, "log_interval": 5, "eval_interval": 20, "ckpt_interval": 20, "hidden": 32}


@pytest.fixture
def engine(engine, monkeypatch):
    monkeypatch.setenv("PATHWAY_GPU", "none")
    yield engine
    for run in jobs.list_runs(engine):  # never leave a runner (and its torchrun) behind
        if jobs.is_alive(run):
            os.killpg(run.pid, signal.SIGKILL)


def test_bad_settings_are_rejected_with_the_reason():
    cores = _cpu_cores()
    with pytest.raises(PathwayError, match=f"nproc={cores + 1} is more than the {cores} CPU core"):
        catalog.parse_set("ddp", [f"nproc={cores + 1}", "device=cpu", f"global_batch={64 * (cores + 1)}"], cuda=False)
    with pytest.raises(PathwayError, match="strategy=fsdp needs CUDA"):
        catalog.parse_set("ddp", ["strategy=fsdp", "device=cpu"], cuda=False)
    with pytest.raises(PathwayError, match="must divide evenly over 3 rank"):
        catalog.parse_set("ddp", ["nproc=3", "global_batch=64"], cuda=False)
    with pytest.raises(PathwayError, match="needs rdzv_endpoint=HOST:PORT"):
        catalog.parse_set("ddp", ["nnodes=2"], cuda=False)
    with pytest.raises(PathwayError, match="node_rank=2 must be below nnodes=2"):
        catalog.parse_set("ddp", ["nnodes=2", "node_rank=2", "rdzv_endpoint=node0:29611"], cuda=False)
    with pytest.raises(PathwayError, match="expected empty or host:port"):
        catalog.parse_set("ddp", ["rdzv_endpoint=node0"], cuda=False)
    assert catalog.parse_set("ddp", ["nnodes=2", "node_rank=1", "rdzv_endpoint=10.0.0.5:29611"], cuda=False)["node_rank"] == 1


def test_too_many_ranks_for_this_machine_fails_the_run_with_the_reason(engine, home):
    cores = _cpu_cores()
    # device=auto: only the runner knows whether CUDA is there, so this is caught at launch
    run_id = jobs.start(engine, home, "ddp", {"nproc": cores + 1, "global_batch": 64 * (cores + 1)})
    run = run_to_the_end(engine, run_id, timeout=60)
    assert run.status == "failed" and f"nproc={cores + 1} is more than the {cores} CPU core" in run.error
    assert "Traceback" not in run.error


def test_two_concurrent_runs_match_one_process_on_different_ports(engine, home):
    first = jobs.start(engine, home, "ddp", TINY)
    second = jobs.start(engine, home, "ddp", {**TINY, "seed": 1, "set_epoch": False})
    runs = [run_to_the_end(engine, first), run_to_the_end(engine, second)]
    assert [r.status for r in runs] == ["succeeded", "succeeded"], [r.error for r in runs]
    finals = [jobs.final_metrics(r) for r in runs]
    assert finals[0]["rdzv_port"] != finals[1]["rdzv_port"]  # each job picked its own free port
    for run, final in zip(runs, finals):
        assert final["check/equivalence"] == 1.0 and final["equiv/max_abs_diff"] <= 1e-5
        assert final["world_size"] == 2 and final["rank1/allreduce_ms_mean"] > 0
        points = jobs.metrics_since(engine, run.id)
        losses = [p.value for p in points if p.name == "train/loss"]
        assert len(losses) == 8 and losses[-1] < losses[0]  # it learns
        refs = [p.value for p in points if p.name == "ref/loss"]
        assert max(abs(a - b) for a, b in zip(losses, refs)) <= 1e-5  # the curves coincide
        ranks = {(p.name.split("/")[0], p.rank) for p in points if p.name.startswith("rank") and p.name.endswith("/step_ms")}
        assert ranks == {("rank0", 0), ("rank1", 1)}  # per-rank names, and the rank column agrees
        assert "torch.distributed.run" in jobs.tail_log(run, 300)
        table = (home / "runs" / str(run.id) / "sample.txt").read_text()
        assert "all-reduce ms" in table and table.count("\n") == 4  # title, header, one line per rank
        assert jobs.get_run(engine, run.id).step == TINY["steps"]  # the runner kept the run's step current

    def epoch_starts(run_id):
        log = jobs.tail_log(jobs.get_run(engine, run_id), 300)
        return [line.split("starts ")[1] for line in log.splitlines() if "shard starts" in line]

    with_epoch, without = epoch_starts(first), epoch_starts(second)
    assert len(set(with_epoch)) == len(with_epoch) == 2  # set_epoch: a new order every epoch
    assert len(without) == 2 and len(set(without)) == 1  # without it, epoch 1 replays epoch 0
    assert "set_epoch OFF" in jobs.tail_log(jobs.get_run(engine, second), 300)


def test_stop_resume_and_a_killed_runner_takes_its_ranks_along(engine, home):
    run_id = jobs.start(engine, home, "ddp", {**TINY, "steps": 1_000_000, "ckpt_interval": 50, "eval_interval": 10_000})
    jobs.wait_for(engine, run_id, lambda r: r.status == "running" and r.step >= 60, timeout=120)

    assert jobs.stop(engine, run_id) == "stopped"  # SIGINT to the group: the ranks agree, rank 0 checkpoints
    stopped = jobs.get_run(engine, run_id)
    assert stopped.error is None and (home / "runs" / str(run_id) / "checkpoint.pt").exists()
    log = jobs.tail_log(stopped, 100)
    assert "rank 0 saved the checkpoint" in log and "SignalException" not in log and "Traceback" not in log

    jobs.resume(engine, home, run_id)
    resumed = jobs.wait_for(engine, run_id, lambda r: r.status == "running" and r.step >= stopped.step + 30, timeout=120)
    steps = [p.step for p in jobs.metrics_since(engine, run_id, names=["train/loss"])]
    assert len(steps) == len(set(steps)) and min(s for s in steps if s > stopped.step) <= stopped.step + TINY["log_interval"]
    assert f"resumed from checkpoint at step {stopped.step}" in jobs.tail_log(resumed, 100)

    tree = psutil.Process(resumed.pid).children(recursive=True)  # torchrun and its two ranks
    assert len(tree) >= 3
    os.kill(resumed.pid, signal.SIGKILL)
    gone, alive = psutil.wait_procs(tree, timeout=30)
    assert not alive, f"orphaned ranks kept running: {alive}"
    assert jobs.reconcile(engine) == [run_id]
    assert jobs.get_run(engine, run_id).status == "interrupted"  # and no orphan revives it


def test_fsdp_code_path_on_gloo_with_checkpoint_and_resume(engine, home, tmp_path):
    """strategy=fsdp is for CUDA in the lab; gloo still runs fully_shard, so its training and state dicts are tested here."""
    from pathway.db.engine import database_url
    from pathway.labs.engine import launch, records

    run_id = records.create(engine, "ddp", {})
    run_dir = home / "runs" / str(run_id)
    run_dir.mkdir(parents=True)
    records.set_run_dir(engine, run_id, str(run_dir))
    config = catalog.config_dict(catalog.build_config("ddp", TINY, cuda=False)) | {"strategy": "fsdp"}

    def ranks(steps: int, *extra: str) -> dict:
        args = ["--db-url", database_url(home), "--run-id", str(run_id), "--run-dir", str(run_dir),
                "--config", json.dumps(config | {"steps": steps}), "--device", "cpu", "--backend", "gloo", *extra]
        cmd = launch.torchrun_command(nproc=2, nnodes=1, node_rank=0, endpoint=f"127.0.0.1:{launch.free_port()}",
                                      module="pathway.labs.programs.ddp.train", args=args, run_id=run_id)
        subprocess.run(cmd, check=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
        return json.loads((run_dir / "ddp_result.json").read_text())

    first = ranks(20)
    assert first["status"] == "succeeded" and first["final"]["equiv/max_abs_diff"] <= 1e-5
    assert "rank1/allreduce_ms_mean" not in first["final"]  # FSDP reduce-scatters; no DDP all-reduce to time
    second = ranks(40, "--resume")  # the sharded state went through full state dicts and back
    assert second["final"]["step"] == 40 and second["final"]["equiv/max_abs_diff"] <= 1e-5
    losses = [p.value for p in jobs.metrics_since(engine, run_id, names=["train/loss"])]
    assert len(losses) == 8 and losses[-1] < losses[0]
