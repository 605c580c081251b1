"""GPU readings behind one interface: NVML, CPU-only, and a fake for tests.

No GPU is a normal state, not an error: `default_provider()` always returns a
provider, and a provider always answers with the same fields, `None` where a
reading is unknown. Nothing here imports torch.

    provider = default_provider()
    snap = provider.sample(job_pids={os.getpid()})
    snap.reason          # None when devices were found, else e.g. 'no NVIDIA GPU — CPU only (...)'
    [d.util_percent for d in snap.devices]   # [] on a CPU-only machine

`PATHWAY_GPU=fake:N` selects the fake provider with N devices (used by tests
and by screenshots of the dashboard); `PATHWAY_GPU=none` forces CPU-only.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Collection, Protocol

CPU_ONLY_REASON = "no NVIDIA GPU — CPU only"


@dataclass(frozen=True)
class GpuReading:
    """One device at one moment. Every reading may be None (unknown, not zero)."""

    index: int
    name: str | None = None
    util_percent: float | None = None
    mem_used_mb: float | None = None
    mem_total_mb: float | None = None
    temp_c: float | None = None
    power_w: float | None = None
    power_cap_w: float | None = None
    job_mem_mb: float | None = None  # memory held by the job's process tree on this device


@dataclass(frozen=True)
class GpuSnapshot:
    """All devices at one moment; `reason` says why the list is empty."""

    devices: list[GpuReading] = field(default_factory=list)
    reason: str | None = None


class GpuProvider(Protocol):
    """What the sampler and the dashboard need from a GPU source."""

    def sample(self, job_pids: Collection[int] = ()) -> GpuSnapshot:
        """Read every device; `job_pids` selects whose memory is `job_mem_mb`."""
        ...

    def close(self) -> None: ...


def metric_rows(snapshot: GpuSnapshot) -> dict[str, float]:
    """Flatten a snapshot into metric names (`gpu0/util`, ...), skipping unknowns."""
    out: dict[str, float] = {}
    for d in snapshot.devices:
        for key, value in (
            ("util", d.util_percent),
            ("mem_used_mb", d.mem_used_mb),
            ("mem_total_mb", d.mem_total_mb),
            ("temp_c", d.temp_c),
            ("power_w", d.power_w),
            ("power_cap_w", d.power_cap_w),
            ("job_mem_mb", d.job_mem_mb),
        ):
            if value is not None:
                out[f"gpu{d.index}/{key}"] = float(value)
    return out


class CpuOnlyProvider:
    """No devices, and a plain sentence saying why."""

    def __init__(self, reason: str = CPU_ONLY_REASON) -> None:
        self.reason = reason

    def sample(self, job_pids: Collection[int] = ()) -> GpuSnapshot:
        return GpuSnapshot(devices=[], reason=self.reason)

    def close(self) -> None:
        pass


class FakeGpuProvider:
    """N devices with deterministic readings that move a little on every call.

    Call k (0-based) on device i reads util = (10*i + 7*k) % 100, memory
    used = 1000 + 100*(k % 100) + 10*i MB of 16384 MB, temperature 40 + i + k % 30,
    power 100 + 5*(k % 10) + i W of a 300 W cap, job memory 512 + 10*(k % 100) MB
    (0 when no job pids are given).
    """

    def __init__(self, count: int = 1) -> None:
        self.count = count
        self.calls = 0
        self._lock = threading.Lock()

    def sample(self, job_pids: Collection[int] = ()) -> GpuSnapshot:
        with self._lock:
            k = self.calls
            self.calls += 1
        devices = [
            GpuReading(
                index=i,
                name=f"Fake GPU {i}",
                util_percent=float((10 * i + 7 * k) % 100),
                mem_used_mb=float(1000 + 100 * (k % 100) + 10 * i),
                mem_total_mb=16384.0,
                temp_c=float(40 + i + k % 30),
                power_w=float(100 + 5 * (k % 10) + i),
                power_cap_w=300.0,
                job_mem_mb=float(512 + 10 * (k % 100)) if job_pids else 0.0,
            )
            for i in range(self.count)
        ]
        return GpuSnapshot(devices=devices, reason=None if devices else CPU_ONLY_REASON)

    def close(self) -> None:
        pass


class NvmlProvider:
    """Readings from NVIDIA's management library (`pynvml`, from nvidia-ml-py).

    Construct through `default_provider()`, which falls back to CPU-only when
    NVML is missing. Each reading is fetched on its own, so a device that does
    not support one (power on some boards, temperature in some VMs) loses only
    that field.
    """

    def __init__(self) -> None:
        import pynvml  # the only NVML import; raises NVMLError when there is no driver

        self._nvml = pynvml
        pynvml.nvmlInit()
        self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        self._lock = threading.Lock()  # NVML calls from the sampler and the UI may overlap

    def _read(self, fn, *args):
        try:
            return fn(*args)
        except Exception:  # NVMLError_NotSupported, NoPermission, GpuIsLost...: a missing value
            return None

    def _job_mem_mb(self, handle, job_pids: Collection[int]) -> float | None:
        nv = self._nvml
        procs = self._read(nv.nvmlDeviceGetComputeRunningProcesses, handle)
        if procs is None:
            return None
        procs = list(procs) + list(self._read(nv.nvmlDeviceGetGraphicsRunningProcesses, handle) or [])
        used = [p.usedGpuMemory for p in procs if p.pid in job_pids]
        # usedGpuMemory is None under some drivers (e.g. Windows WDDM): unknown, not zero
        if any(u is None for u in used):
            return None
        return sum(used) / 2**20

    def sample(self, job_pids: Collection[int] = ()) -> GpuSnapshot:
        nv = self._nvml
        devices = []
        with self._lock:
            for i, h in enumerate(self._handles):
                name = self._read(nv.nvmlDeviceGetName, h)
                util = self._read(nv.nvmlDeviceGetUtilizationRates, h)
                mem = self._read(nv.nvmlDeviceGetMemoryInfo, h)
                temp = self._read(nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU)
                power = self._read(nv.nvmlDeviceGetPowerUsage, h)  # milliwatts
                cap = self._read(nv.nvmlDeviceGetEnforcedPowerLimit, h)  # milliwatts
                devices.append(
                    GpuReading(
                        index=i,
                        name=name.decode() if isinstance(name, bytes) else name,
                        util_percent=None if util is None else float(util.gpu),
                        mem_used_mb=None if mem is None else mem.used / 2**20,
                        mem_total_mb=None if mem is None else mem.total / 2**20,
                        temp_c=None if temp is None else float(temp),
                        power_w=None if power is None else power / 1000.0,
                        power_cap_w=None if cap is None else cap / 1000.0,
                        job_mem_mb=self._job_mem_mb(h, job_pids) if job_pids else None,
                    )
                )
        return GpuSnapshot(devices=devices, reason=None if devices else "NVML found no NVIDIA GPU — CPU only")

    def close(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            pass


def default_provider() -> GpuProvider:
    """NVML when it works, else CPU-only with the reason; `PATHWAY_GPU` overrides.

    `PATHWAY_GPU=fake:N` gives N fake devices, `PATHWAY_GPU=none` CPU-only.
    """
    choice = os.environ.get("PATHWAY_GPU", "").strip().lower()
    if choice.startswith("fake"):
        _, _, n = choice.partition(":")
        return FakeGpuProvider(int(n) if n.isdigit() else 1)
    if choice == "none":
        return CpuOnlyProvider()
    try:
        return NvmlProvider()
    except ImportError:
        return CpuOnlyProvider(f"{CPU_ONLY_REASON} (nvidia-ml-py is not installed)")
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        detail = str(exc) or type(exc).__name__
        return CpuOnlyProvider(f"{CPU_ONLY_REASON} ({detail})")


def gpu_count() -> int:
    """How many GPUs the default provider sees: 0 on a CPU-only machine (or `PATHWAY_GPU=none`)."""
    provider = default_provider()
    try:
        return len(provider.sample().devices)
    finally:
        provider.close()
