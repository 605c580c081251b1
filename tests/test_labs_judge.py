"""A lab judges its own result, and memory is checked before launch and named after an OOM.

Goals and estimates are pure Python (tested here directly); the end-to-end tests run
the real `pathway` binary: a run that blows up ends "check failed" with exit code 3 and
its reason in `lab status`; settings that cannot fit are refused before anything starts;
a real allocation failure (the runner under an address-space limit) is one paragraph.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from pathway.labs import catalog
from pathway.labs.engine import memory, status
from pathway.labs.engine.contract import Goal

PATHWAY = [str(Path(sys.executable).parent / "pathway")]  # the installed command, as a user runs it


# --- Goal and the specs' goals (pure) ---------------------------------------------------------------


def test_a_goal_names_the_value_and_the_threshold_when_missed():
    goal = Goal("eval/acc", above=0.5, why="Chance is 10%.")
    assert goal.missed({"eval/acc": 0.97}) is None
    assert goal.missed({"eval/acc": 0.108}) == "eval/acc = 0.108, needs > 0.5. Chance is 10%."
    assert goal.missed({"eval/acc": 0.5}) is not None  # the bound itself is not above it
    assert "was not reported" in goal.missed({}) and "was not reported" in goal.missed(None)
    assert goal.missed({"eval/acc": float("nan")}) is not None
    low = Goal("eval/loss", below=2.3)
    assert low.missed({"eval/loss": 0.05}) is None and "needs < 2.3" in low.missed({"eval/loss": 1.87e4})
    assert low.missed({"eval/loss": float("inf")}) is not None


def test_an_optional_goal_passes_when_its_check_was_switched_off_but_not_when_it_fails():
    goal = Goal("check/equivalence", above=0.5, required=False)
    assert goal.missed({"eval/acc": 0.9}) is None  # equiv_check=false: nothing to judge
    assert goal.missed({"check/equivalence": 1.0}) is None
    assert goal.missed({"check/equivalence": 0.0}) is not None
    assert goal.missed({"check/equivalence": float("nan")}) is not None


def test_every_lab_declares_goals_and_the_chance_level_follows_the_settings():
    for spec in catalog.all_labs():
        assert spec.goals_for(spec.config_cls()), f"{spec.id} declares no goal"
    chars = catalog.LABS["char-transformer"]
    assert chars.goals_for(chars.config_cls())[0].below == pytest.approx(math.log(98))
    bpe = chars.config_cls(tokenizer="bpe", bpe_vocab=4096)
    assert chars.goals_for(bpe)[0].below == pytest.approx(math.log(4096))
    assert chars.judge(bpe, {"eval/loss": 7.0}) == []  # below ln(4096) = 8.3, though above ln(98)
    mixed = catalog.LABS["mixed-precision"]
    assert mixed.judge(mixed.config_cls(classes=1000), {"fp32/loss": 5.0, "bf16/loss": 5.1}) == []
    both = mixed.judge(mixed.config_cls(), {"fp32/loss": 7408.0, "bf16/loss": 5854.0})  # above ln(10): blown up
    assert len(both) == 2 and " ".join(both).count("A uniform guess") == 1  # the shared reason is said once
    noscale = mixed.config_cls(variants="fp32,fp16-noscale")  # the bug variant is not judged
    assert [g.metric for g in mixed.goals_for(noscale)] == ["fp32/loss"]


def test_a_blown_up_run_of_each_classifier_fails_its_goals_and_a_good_one_passes():
    # figures from the issue (lr at its maximum) and from default runs
    digits = catalog.LABS["mlp-digits"]
    assert digits.judge(digits.config_cls(), {"eval/loss": 0.045, "eval/acc": 0.989}) == []
    assert digits.judge(digits.config_cls(), {"eval/loss": 1.87e4, "eval/acc": 0.98})
    cifar = catalog.LABS["cifar-cnn"]
    assert cifar.judge(cifar.config_cls(), {"eval/loss": 2.31, "eval/acc": 0.10})
    ddp = catalog.LABS["ddp"]
    assert ddp.judge(ddp.config_cls(), {"eval/acc": 0.97, "check/equivalence": 1.0}) == []
    assert len(ddp.judge(ddp.config_cls(), {"eval/acc": 0.108, "check/equivalence": 0.0})) == 2
    chars = catalog.LABS["char-transformer"]
    assert chars.judge(chars.config_cls(), {"eval/loss": 105.0})


def test_check_failed_is_its_own_state_with_its_own_exit_code_and_colour():
    assert status.CHECK_FAILED in status.FINISHED and status.CHECK_FAILED in status.ALL
    assert status.exit_code(status.CHECK_FAILED) == 3
    assert status.exit_code(status.SUCCEEDED) == 0 and status.exit_code(status.FAILED) == 1
    assert not status.is_good(status.CHECK_FAILED)
    assert status.color(status.CHECK_FAILED) == "yellow" and status.color(status.SUCCEEDED) == "green"


# --- memory estimates (pure) ------------------------------------------------------------------------


def test_every_default_config_fits_and_the_repro_of_the_issue_does_not():
    for spec in catalog.all_labs():
        needed = memory.estimate(spec.config_cls())
        if needed is not None:
            assert 100 * 2**20 < needed.bytes < 4 * 2**30, spec.id  # a default run needs a few hundred MB
    mixed = catalog.LABS["mixed-precision"].config_cls(dim=65536, blocks=1)
    assert memory.estimate(mixed).bytes > 500 * 2**30  # 34 G parameters x 16 bytes, twice (fp32 and bf16)


def test_settings_that_cannot_fit_are_refused_naming_the_setting():
    from pathway.errors import PathwayError

    with pytest.raises(PathwayError) as refused:
        catalog.validate_config("mixed-precision", {"dim": "65536", "blocks": "1"}, cuda=False)
    message = refused.value.message
    assert "needs about" in message and "free" in message and "Lower dim" in message
    assert catalog.validate_config("mixed-precision", {"dim": "512"}, cuda=False) == {"dim": 512}


def test_on_cuda_the_gpus_free_memory_is_the_limit(monkeypatch):
    from pathway.errors import PathwayError

    monkeypatch.setenv("PATHWAY_GPU", "fake:1")  # a fake GPU (16 GB, ~1 GB used): the one fake the house rules allow
    with pytest.raises(PathwayError) as refused:
        catalog.validate_config("mixed-precision", {"dim": "8192", "blocks": "2"}, cuda=True)
    assert "the GPU has 1" in refused.value.message and "GB free" in refused.value.message
    assert catalog.validate_config("mixed-precision", {}, cuda=True) == {}  # the CUDA defaults fit


# --- end to end: the real binary and real runners -------------------------------------------------


@pytest.fixture
def home(tmp_path):
    env = {**os.environ, "PATHWAY_HOME": str(tmp_path), "PATHWAY_GPU": "none", "COLUMNS": "200"}  # no wrapping mid-phrase
    env.pop("PATHWAY_DB_URL", None)
    return tmp_path, env


def pathway(env, *args, limit_bytes: int | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    def limit():  # inherited by the runner the command starts: a real allocation failure, no fake
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return subprocess.run([*PATHWAY, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit if limit_bytes else None)


@pytest.mark.slow
def test_a_run_that_blows_up_ends_check_failed_with_exit_3_and_the_reason_in_status(home):
    _, env = home
    done = pathway(env, "lab", "run", "mlp-digits", "--set", "lr=10", "--set", "steps=20", "--set", "eval_interval=10")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "check failed" in done.stdout and "eval/loss" in done.stdout and "needs < 2.303" in done.stdout
    info = json.loads(pathway(env, "lab", "status", "1", "--json").stdout)
    assert info["status"] == "check failed" and "ln(10)" in info["error"] and info["final_metrics"]["eval/loss"] > 2.303
    shown = pathway(env, "lab", "status", "1")
    assert shown.returncode == 0 and "check failed" in shown.stdout and "needs < 2.303" in shown.stdout
    assert "check failed" in pathway(env, "lab", "status").stdout
    resumed = pathway(env, "lab", "resume", "1")
    assert resumed.returncode == 2 and "already finished" in resumed.stdout + resumed.stderr


@pytest.mark.slow
def test_the_issue_repro_is_refused_before_launch_naming_dim(home):
    tmp, env = home
    refused = pathway(env, "lab", "run", "mixed-precision", "--set", "dim=65536", "--set", "blocks=1")
    assert refused.returncode == 2
    said = refused.stdout + refused.stderr
    assert "Lower dim" in said and "Traceback" not in said
    assert json.loads(pathway(env, "lab", "status", "--json").stdout) == []  # nothing was started


@pytest.mark.slow
def test_a_real_out_of_memory_is_one_paragraph_with_the_setting_and_the_traceback_stays_in_the_log(home):
    _, env = home
    # fits the free RAM by the estimate (~2.5 GB), but the runner may map only 3 GB: torch's allocator fails
    done = pathway(env, "lab", "run", "mlp-digits", "--set", "hidden=8192", "--set", "batch_size=65536",
                   "--set", "steps=2", limit_bytes=3 * 2**30)
    assert done.returncode == 1, done.stdout + done.stderr
    info = json.loads(pathway(env, "lab", "status", "1", "--json").stdout)
    assert info["status"] == "failed"
    error = info["error"]
    assert error.startswith("The run ran out of memory") and "Lower hidden or batch_size" in error
    assert "Traceback" not in error and "\n" not in error
    log = pathway(env, "lab", "logs", "1").stdout
    assert "Traceback" in log and "can't allocate memory" in log


def test_the_classifier_knows_torchs_real_cpu_allocation_failure():
    # in a subprocess: this test process stays free of torch (other tests check sys.modules)
    code = (
        "import torch\nfrom pathway.labs.engine import memory, runner\n"
        "try:\n    torch.empty(2**50, dtype=torch.uint8)\nexcept RuntimeError as exc:\n"
        "    assert memory.out_of_memory(exc) == 'cpu', exc\n    print(runner.describe_crash(exc, 'mixed-precision'))\n"
        "assert memory.out_of_memory(ValueError('shapes do not match')) is None\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("The run ran out of memory") and "Lower dim" in out and "Traceback" not in out


# --- elapsed and ETA: one definition, running time only ------------------------------------------


def test_elapsed_sums_the_running_spans_and_a_finished_run_has_no_eta(tmp_path):
    from datetime import timedelta

    from sqlmodel import Session

    from pathway.db.engine import open_database
    from pathway.db.models import Run, utcnow
    from pathway.labs.engine import jobs, records

    engine = open_database(tmp_path)
    now = utcnow()
    with Session(engine) as session:  # ran 60 s, then sat stopped for an hour
        run = Run(lab="mlp-digits", status="stopped", created_at=now - timedelta(hours=2), started_at=now - timedelta(minutes=61),
                  finished_at=now - timedelta(minutes=60), heartbeat_at=now - timedelta(minutes=60), step=50, total_steps=100)
        session.add(run)
        session.commit()
        run_id = run.id
    stopped = jobs.get_run(engine, run_id)
    assert jobs.progress(engine, stopped).elapsed_s == pytest.approx(60, abs=1)
    assert jobs.progress(engine, stopped).eta_s is None  # no ETA unless it runs (it said 0s before)
    records.prepare_resume(engine, run_id)
    records.claim(engine, run_id)
    resumed = jobs.get_run(engine, run_id)
    assert jobs.running_seconds(resumed) == pytest.approx(60, abs=2)  # the hour stopped is not counted
    engine.dispose()
