"""The few torch helpers every lab shares: pick a device, save, load and resume checkpoints, spot CUDA OOM.

Imported by lab modules and the runner only (it imports torch).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from pathway.errors import PathwayError
from pathway.files import atomic_write
from pathway.words import count


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA, else MPS, else CPU for "auto"; a named device must exist."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise PathwayError(
                f"device={requested} was asked for, but this torch ({torch.__version__}) sees no CUDA device. "
                "Use device=auto or device=cpu, or install a CUDA build of torch."
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise PathwayError(f"device={requested}: this machine has only {count(torch.cuda.device_count(), 'CUDA device')}.")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise PathwayError(f"device={requested} was asked for, but MPS is not available here. Use device=auto or cpu.")
    return device


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically (temp file, fsync, rename): a kill mid-write leaves the old checkpoint whole."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(path, buffer.getvalue())


def load_checkpoint(path: Path, device: torch.device) -> dict[str, Any] | None:
    """The saved state, or None when there is no checkpoint yet."""
    path = Path(path)
    if not path.exists():
        return None
    return torch.load(path, map_location=device, weights_only=False)  # our own file: holds RNG states


class Checkpoint:
    """A lab's loop state by name (modules, optimizers, scalers, generators) plus the step, saved and resumed.

        ckpt = Checkpoint(report, device, model=model, optimizer=optimizer, batch_gen=batch_gen)
        step = ckpt.resume(config.steps)           # 0, or the saved step when `pathway lab resume` restarted the run
        ...
        ckpt.save(step, config=vars(config))      # extra keys are stored as they are

    A part is anything with state_dict()/load_state_dict(), or a torch.Generator.
    """

    def __init__(self, report, device: torch.device, **parts: Any) -> None:
        self.report, self.device, self.parts = report, device, parts

    def resume(self, total_steps: int) -> int:
        step = 0
        state = load_checkpoint(self.report.checkpoint_path, self.device) if self.report.resuming else None
        if state is not None:
            for name, part in self.parts.items():
                if isinstance(part, torch.Generator):
                    part.set_state(state[name].cpu())  # map_location moved the RNG state; generators want it on the CPU
                else:
                    part.load_state_dict(state[name])
            step = state["step"]
            self.report.log_text(f"resumed from checkpoint at step {step}")
        if self.report.resuming:
            self.report.rewind_to(step)  # rows logged after the checkpoint are redone, not duplicated
        self.report.set_total_steps(total_steps)
        return step

    def save(self, step: int, **extra: Any) -> None:
        parts = {name: part.get_state() if isinstance(part, torch.Generator) else part.state_dict()
                 for name, part in self.parts.items()}
        save_checkpoint(self.report.checkpoint_path, {"step": step, **extra, **parts})


def is_cuda_oom(exc: BaseException) -> bool:
    """True for CUDA out-of-memory, whichever way this torch version raises it."""
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom_type is not None and isinstance(exc, oom_type)) or "CUDA out of memory" in str(exc)


def has_fast_bf16(device: torch.device) -> bool:
    """True where bf16 matmuls run natively: CUDA with bf16 support, or a CPU with AVX512-BF16 or AMX.

    Elsewhere torch still computes in bf16 but emulates it, usually slower than fp32.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            flags = next((line for line in fh if line.startswith("flags")), "").split()
    except OSError:  # not Linux: assume no, fp32 is never wrong
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
