"""The mixed-precision lab: every variant reports, fp16's skipped steps are counted, memory is measured.

The run goes through the real runner and SQLite; fp16 on CPU is slow but real,
and a huge initial loss scale makes its first steps overflow for certain.
"""

from __future__ import annotations


import pytest

from lab_helpers import run_to_the_end

from pathway.errors import PathwayError
from pathway.labs import catalog
from pathway.labs.engine.local_report import LocalReport

TINY = {"dim": 32, "blocks": 1, "steps": 40, "batch_size": 64, "log_interval": 5, "ckpt_interval": 20, "lr": 3e-3}



def test_variant_lists_are_checked():
    assert catalog.parse_set("mixed-precision", ["variants=fp32,fp16-noscale"], cuda=False) == {"variants": "fp32,fp16-noscale"}
    with pytest.raises(PathwayError, match="variants='fp8'.*auto or a list"):
        catalog.parse_set("mixed-precision", ["variants=fp8"], cuda=False)


@pytest.mark.slow
def test_all_variants_report_and_skipped_steps_are_counted(engine, home, monkeypatch):
    from pathway.labs.engine import jobs

    monkeypatch.setenv("PATHWAY_GPU", "none")
    settings = {**TINY, "variants": "fp32,bf16,fp16,fp16-noscale", "init_scale": 2.0**30, "growth_interval": 5, "device": "cpu"}
    run_id = jobs.start(engine, home, "mixed-precision", settings)
    run = run_to_the_end(engine, run_id)
    assert run.status == "succeeded", run.error

    points = jobs.metrics_since(engine, run_id)
    series: dict[str, list[float]] = {}
    for p in points:
        series.setdefault(p.name, []).append(p.value)
    for name in ("fp32", "bf16", "fp16", "fp16-noscale"):
        assert len(series[f"{name}/loss"]) == 8 and series[f"{name}/samples_per_s"][-1] > 0
    for name in ("fp32", "bf16"):  # both learn, and their curves stay close
        assert series[f"{name}/loss"][-1] < series[f"{name}/loss"][0]
    assert max(abs(a - b) for a, b in zip(series["fp32/loss"], series["bf16/loss"])) < 0.1
    scales = series["fp16/loss_scale"]
    assert scales[0] < 2.0**30 and len(set(scales)) > 1  # halved at the overflows, then grown again
    assert series["fp16/skipped_steps"][-1] >= 1
    assert "fp16-noscale/loss_scale" not in series and "bf16/skipped_steps" not in series  # no scaler there
    assert "process/max_rss_mb" in series  # CPU: the whole process's RSS high-water

    final = jobs.final_metrics(run)
    assert final["fp32/speed_vs_fp32"] == 1.0 and final["bf16/speed_vs_fp32"] > 0
    assert final["fp16/skipped_steps"] == series["fp16/skipped_steps"][-1] >= 1
    assert final["bf16/activation_mb"] < final["fp32/activation_mb"]  # 16-bit activations saved for backward
    assert "skipped step" in jobs.tail_log(run, 50)
    assert "vs fp32" in (home / "runs" / str(run_id) / "sample.txt").read_text()


def test_checkpointing_saves_less_for_backward_with_the_same_gradients():
    torch = pytest.importorskip("torch")
    from pathway.labs.programs.mixed_precision import train as mp

    config = catalog.build_config("mixed-precision", {"dim": 32, "blocks": 3}, cuda=False)
    x, y = torch.randn(16, 32), torch.randint(0, 10, (16,))
    grads, saved = [], []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        base = mp.ResidualMLP(config.dim, config.blocks, config.classes, checkpointing)
        v = mp.make_variant("fp32", base, config, torch.device("cpu"))
        saved.append(mp.activation_bytes(v, x, y, torch.device("cpu"))[0])
        mp.forward_loss(v, x, y, torch.device("cpu")).backward()
        grads.append([p.grad.clone() for p in v.model.parameters()])
    assert saved[1] < saved[0] / 2
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(*grads))


def test_resume_continues_every_variant_from_the_checkpoint(tmp_path):
    pytest.importorskip("torch")
    from pathway.labs.programs.mixed_precision import train as mp

    settings = {**TINY, "variants": "fp32,bf16", "device": "cpu"}
    mp.train(catalog.build_config("mixed-precision", {**settings, "steps": 20}, cuda=False), LocalReport(tmp_path))
    report = LocalReport(tmp_path, resuming=True)
    final = mp.train(catalog.build_config("mixed-precision", settings, cuda=False), report)
    assert report.rewound == 20 and [s for s, _ in report.rows][0] == 25 and final["step"] == 40
    straight = LocalReport(tmp_path / "straight")
    mp.train(catalog.build_config("mixed-precision", settings, cuda=False), straight)
    # the resumed run ends where an uninterrupted one does (same batches, same states)
    assert abs(straight.rows[-1][1]["fp32/loss"] - report.rows[-1][1]["fp32/loss"]) < 1e-6


def test_resuming_with_other_variants_is_refused_and_names_both_sets(tmp_path):
    pytest.importorskip("torch")
    from pathway.labs.programs.mixed_precision import train as mp

    settings = {**TINY, "device": "cpu", "steps": 10}
    mp.train(catalog.build_config("mixed-precision", {**settings, "variants": "fp32,bf16"}, cuda=False), LocalReport(tmp_path))
    with pytest.raises(PathwayError, match=r"holds variants \['fp32', 'bf16'\], this run asks for \['fp32'\]"):
        mp.train(catalog.build_config("mixed-precision", {**settings, "variants": "fp32"}, cuda=False), LocalReport(tmp_path, resuming=True))
