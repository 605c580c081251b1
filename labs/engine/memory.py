"""Memory before and after launch: refuse settings that cannot fit, and name an out-of-memory crash.

Before: a lab's config may define `memory_estimate(self) -> contract.MemoryEstimate`,
a torch-free sum from its settings. `check_fits` compares it with the RAM that is
free now (psutil) or, for a run on CUDA, the GPU's free memory (NVML), and refuses
with a message that names the settings to lower. The estimates are rough (within
a factor of ~2): they exist to stop a run that would need 500 GB, not to pack a
machine to the last megabyte.

After: `out_of_memory(exc)` recognises the allocators' errors (torch's CPU
"DefaultCPUAllocator: can't allocate memory", CUDA's OutOfMemoryError, Python's
MemoryError) without importing torch, and `oom_message` is the one paragraph the
run's error shows; the traceback stays in the run's log.

Pure Python: the settings form calls this on every change.
"""

from __future__ import annotations

from typing import Any

from pathway.errors import PathwayError

TORCH_PROCESS_BYTES = 400 * 2**20  # what one process with torch imported holds before the lab allocates anything
FLOAT = 4  # bytes of an fp32 number
ADAM_TRAINING = 4 * FLOAT  # per parameter: the weight, its gradient, Adam's two moments


def training_bytes(params: float, activations: float, *, processes: int = 1) -> float:
    """The usual estimate of training with Adam in fp32: 16 bytes per parameter + 4 per stored activation."""
    return processes * TORCH_PROCESS_BYTES + ADAM_TRAINING * params + FLOAT * activations


def human_bytes(n: float) -> str:
    """`512 MB`, `3.2 GB`, `1.1 TB`."""
    for unit, size in (("TB", 2**40), ("GB", 2**30)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n / 2**20:.0f} MB"


def estimate(config: Any):
    """The config's own estimate, or None for a lab that declares none."""
    method = getattr(config, "memory_estimate", None)
    return method() if method is not None else None


def free_ram_bytes() -> float:
    import psutil

    return float(psutil.virtual_memory().available)


def free_gpu_bytes(device: str) -> float | None:
    """Free memory of the CUDA device `device` ("cuda" or "cuda:N") by NVML; None without readings."""
    from pathway.labs.engine.gpu import default_provider

    index = int(device.partition(":")[2] or 0)
    provider = default_provider()
    try:
        snapshot = provider.sample()
    finally:
        provider.close()
    if index >= len(snapshot.devices):
        return None
    reading = snapshot.devices[index]
    if reading.mem_total_mb is None or reading.mem_used_mb is None:
        return None
    return (reading.mem_total_mb - reading.mem_used_mb) * 2**20


def check_fits(lab_id: str, config: Any, *, cuda: bool) -> None:
    """PathwayError when the settings need more memory than is free where the run will go."""
    needed = estimate(config)
    if needed is None:
        return
    if cuda:
        device = str(getattr(config, "device", "cuda"))
        free = free_gpu_bytes(device if device.startswith("cuda") else "cuda")
        where = "the GPU has"
    else:
        free = free_ram_bytes()
        where = "this machine has"
    if free is None or needed.bytes <= free:
        return
    detail = f" ({needed.detail})" if needed.detail else ""
    raise PathwayError(
        f"{lab_id} with these settings needs about {human_bytes(needed.bytes)} of memory{detail}, and {where} "
        f"{human_bytes(free)} free. Lower {needed.lower}, then start again."
    )


# --- after: an out-of-memory crash ------------------------------------------------------------------

_CPU_SIGNS = ("DefaultCPUAllocator: can't allocate memory", "can't allocate memory", "Cannot allocate memory")


def out_of_memory(exc: BaseException) -> str | None:
    """"cuda" or "cpu" when `exc` (or what caused it) is an allocation failure, else None."""
    seen = 0
    while exc is not None and seen < 10:
        text = str(exc)
        if type(exc).__name__ == "OutOfMemoryError" or "CUDA out of memory" in text:
            return "cuda"
        if isinstance(exc, MemoryError) or any(sign in text for sign in _CPU_SIGNS):
            return "cpu"
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def lower_hint(lab_id: str) -> str:
    """The settings that drive a lab's memory, in words (from its estimate on the defaults)."""
    from pathway.labs import catalog

    try:
        needed = estimate(catalog.get_lab(lab_id).config_cls())
    except Exception:  # noqa: BLE001 - a run of a lab this version no longer has
        needed = None
    return needed.lower if needed is not None else "batch_size (or the model size)"


def oom_message(kind: str, lab_id: str) -> str:
    """The one paragraph a run's error says when it ran out of memory."""
    where = "CUDA ran out of memory: the model, the batch and its activations do not fit on the GPU" if kind == "cuda" \
        else "The run ran out of memory: the model, the batch and its activations do not fit in this machine's RAM"
    others = "stop other jobs on that GPU" if kind == "cuda" else "close other programs"
    return (f"{where}. Lower {lower_hint(lab_id)}, or {others}, then start again. "
            "The full traceback is in the run's log.")
