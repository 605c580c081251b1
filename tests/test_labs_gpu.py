"""The GPU provider: the fake's readings, CPU-only as a normal state, and the sampler storing both."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pathway.db.engine import open_database
from pathway.labs.engine import gpu, jobs, records
from pathway.labs.engine.reporter import Reporter
from pathway.labs.engine.sampler import Sampler


def test_fake_provider_is_deterministic():
    fake = gpu.FakeGpuProvider(2)
    first, second = fake.sample(job_pids={123}), fake.sample(job_pids={123})
    assert first.reason is None and len(first.devices) == 2
    d0, d1 = first.devices
    assert (d0.util_percent, d0.mem_used_mb, d0.mem_total_mb, d0.temp_c, d0.power_w, d0.power_cap_w, d0.job_mem_mb) == (
        0.0, 1000.0, 16384.0, 40.0, 100.0, 300.0, 512.0,
    )
    assert (d1.util_percent, d1.mem_used_mb, d1.power_w, d1.name) == (10.0, 1010.0, 101.0, "Fake GPU 1")
    assert second.devices[0].util_percent == 7.0 and second.devices[0].job_mem_mb == 522.0
    assert gpu.FakeGpuProvider(2).sample(job_pids={123}) == first  # a new fake starts over


def test_metric_rows_names_and_skips_unknown_readings():
    snap = gpu.GpuSnapshot(devices=[gpu.GpuReading(index=0, util_percent=50.0, mem_used_mb=None, power_w=80.0)])
    assert gpu.metric_rows(snap) == {"gpu0/util": 50.0, "gpu0/power_w": 80.0}
    assert set(gpu.metric_rows(gpu.FakeGpuProvider(1).sample({1}))) == {
        "gpu0/util", "gpu0/mem_used_mb", "gpu0/mem_total_mb", "gpu0/temp_c", "gpu0/power_w", "gpu0/power_cap_w", "gpu0/job_mem_mb",
    }


def test_no_gpu_is_a_normal_state_with_a_reason():
    snap = gpu.CpuOnlyProvider().sample()
    assert snap.devices == [] and snap.reason == "no NVIDIA GPU — CPU only"
    assert gpu.metric_rows(snap) == {}


@pytest.mark.parametrize("env, kind", [("fake:3", gpu.FakeGpuProvider), ("none", gpu.CpuOnlyProvider)])
def test_default_provider_can_be_chosen(monkeypatch, env, kind):
    monkeypatch.setenv("PATHWAY_GPU", env)
    provider = gpu.default_provider()
    assert isinstance(provider, kind)
    if env == "fake:3":
        assert len(provider.sample().devices) == 3


def test_default_provider_never_raises(monkeypatch):
    monkeypatch.delenv("PATHWAY_GPU", raising=False)
    provider = gpu.default_provider()  # NVML where there is a driver, CPU-only with the reason elsewhere
    snap = provider.sample(job_pids={os.getpid()})
    assert snap.devices or snap.reason.startswith("no NVIDIA GPU — CPU only")
    for d in snap.devices:
        assert d.mem_total_mb is None or d.mem_total_mb > 0
    provider.close()


def test_sampler_stores_system_and_gpu_metrics(tmp_path):
    engine = open_database(tmp_path)
    run_id = records.create(engine, "mlp-digits", {})
    reporter = Reporter(engine, run_id, tmp_path)
    sampler = Sampler(reporter, gpu.FakeGpuProvider(2))
    sampler.start()
    reporter.last_step = 7
    values = sampler.sample_once()
    sampler.stop()
    assert reporter.flush()
    latest = jobs.latest_metrics(engine, run_id)
    assert latest["sys/rss_mb"].value > 10 and latest["sys/rss_mb"].step == 7
    assert latest["sys/cpu_percent"].value >= 0
    assert latest["gpu1/mem_total_mb"].value == 16384.0
    assert latest["gpu0/job_mem_mb"].value == values["gpu0/job_mem_mb"] > 0  # the process tree was passed on
    engine.dispose()


def test_cuda_out_of_memory_is_named_in_the_error():
    # in a subprocess: this test process must stay free of torch (other tests check sys.modules)
    code = (
        "import torch\n"
        "from pathway.labs.engine import runner\nfrom pathway.labs.programs.common import torchkit\n"
        "oom = torch.cuda.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')\n"
        "assert torchkit.is_cuda_oom(oom) and not torchkit.is_cuda_oom(ValueError('x'))\n"
        "try:\n    raise oom\nexcept BaseException as exc:\n    print(runner.describe_crash(exc))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("CUDA ran out of memory") and "Lower batch_size" in out
    assert "Traceback" not in out and "\n" not in out.strip()  # one paragraph; the runner logs the traceback
