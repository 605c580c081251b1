"""Mixed precision: one model trained side by side in fp32 and under autocast, measured honestly.

    pathway lab run mixed-precision                                # CPU: fp32 vs bf16 autocast
    pathway lab run mixed-precision --set variants=fp32,bf16,fp16 --set init_scale=1e9   # fp16 + GradScaler on CPU, with skipped steps
    pathway lab run mixed-precision --set checkpointing=true       # activation checkpointing: less saved, more compute

Every variant starts from the same weights and sees the same batches. They
take turns step by step (fp32 step 1, bf16 step 1, fp32 step 2, ...), so a
noisy, shared machine slows all of them alike and the speed ratio holds even
when absolute times drift.

  fp32          no autocast: the baseline
  bf16          torch.autocast(dtype=bfloat16): fp32's range, 8 significant bits, no scaler needed
  fp16          autocast float16 + GradScaler: the loss is multiplied by S before backward so small
                gradients do not flush to zero; a step whose gradients overflowed is skipped and S halved;
                after `growth_interval` clean steps S doubles (the sawtooth of `fp16/loss_scale`)
  fp16-noscale  autocast float16 without a scaler: the bug; small gradients become 0 (`zero_grad_frac`)

Parameters and optimizer state stay fp32 in every variant (autocast casts per op),
so the memory that changes is the activations. What is measured, per variant:
  <v>/samples_per_s, <v>/step_ms  wall time of forward + backward + optimizer step
  <v>/activation_mb               activation bytes autograd saves for backward in one step (exact, any
                                  device); <v>/weight_copies_mb: autocast's 16-bit copies of the weights,
                                  also saved for backward, a constant that small batches make look big
  <v>/peak_mem_mb                 CUDA only: torch.cuda.max_memory_allocated during the variant's
                                  step minus what was allocated when the step began
  process/max_rss_mb              CPU: the process's RSS high-water (getrusage), all variants together;
                                  one process cannot split it per variant
On a CPU, bf16 pays for casting weights and activations on every step and
only gains where the matmul kernels use bf16 instructions (AVX512-BF16, AMX);
on a small model it can be slower than fp32. The lab reports what it measures.
"""

from __future__ import annotations

import copy
import math
import resource
import sys
import time
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint as activation_checkpoint

from pathway.errors import PathwayError
from pathway.labs.programs.mixed_precision.spec import MixedPrecisionConfig as Config  # torch-free, so the TUI form can read it
from pathway.labs.programs.common.torchkit import Checkpoint, pick_device
from pathway.words import count

__all__ = ["Config", "Block", "ResidualMLP", "variant_names", "train"]

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16, "fp16-noscale": torch.float16}
WARMUP_STEPS = 5  # first steps of each variant build kernels and caches: left out of the throughput totals


# --- model -------------------------------------------------------------------------------------------


class Block(nn.Module):
    """Pre-LayerNorm residual MLP block, the MLP half of a Transformer layer: x + W2 gelu(W1 ln(x))."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(dim)  # autocast runs layer_norm in fp32 on CUDA: its mean/variance need the range
        self.fc1 = nn.Linear(dim, 4 * dim)  # matmuls are what autocast moves to 16 bits
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc2(F.gelu(self.fc1(self.ln(x))))  # (B, dim) -> (B, 4 dim) -> (B, dim)


class ResidualMLP(nn.Module):
    """(B, dim) features -> `blocks` residual blocks -> LayerNorm -> (B, classes) logits."""

    def __init__(self, dim: int, blocks: int, classes: int, checkpointing: bool = False) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(dim) for _ in range(blocks))
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)
        self.checkpointing = checkpointing

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            if self.checkpointing and self.training:
                # keep only the block's input; its forward runs again during backward to rebuild the rest
                x = activation_checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return self.head(self.ln_f(x))


def teacher_data(config: Config, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed random teacher labels Gaussian inputs: a learnable task with no download and no overfitting in sight."""
    g = torch.Generator().manual_seed(config.seed + 1)
    n = max(16 * config.batch_size, 8192)
    x = torch.randn(n, config.dim, generator=g)
    w1 = torch.randn(config.dim, 64, generator=g) / math.sqrt(config.dim)
    w2 = torch.randn(64, config.classes, generator=g) / 8.0
    y = (torch.tanh(x @ w1 * 2.0) @ w2).argmax(dim=1)
    return x.to(device), y.to(device)


# --- one variant ----------------------------------------------------------------------------------------


@dataclass
class Variant:
    """A model copy with its optimizer, its autocast dtype, its scaler, and what has been measured."""

    name: str
    dtype: torch.dtype | None
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    skipped: int = 0
    loss: float = float("nan")  # at the last report
    loss_t: torch.Tensor | None = None  # the latest step's loss, still on the device
    time_s: float = 0.0  # after the warm-up steps
    steps_timed: int = 0
    interval: dict = field(default_factory=lambda: {"time_s": 0.0, "n": 0, "peak_mb": 0.0})
    peak_mb: float = 0.0
    activation_mb: float = 0.0
    weight_copies_mb: float = 0.0

    def state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict(),
                "skipped": self.skipped, "time_s": self.time_s, "steps_timed": self.steps_timed, "peak_mb": self.peak_mb}

    def load(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.skipped, self.time_s, self.steps_timed, self.peak_mb = state["skipped"], state["time_s"], state["steps_timed"], state["peak_mb"]


class AllVariants:
    """The variants as one checkpoint part; a checkpoint made with other variants is refused, not half loaded."""

    def __init__(self, variants: list[Variant]) -> None:
        self.variants = variants

    def state_dict(self) -> list[dict]:
        return [{"name": v.name, "state": v.state()} for v in self.variants]

    def load_state_dict(self, saved: list[dict]) -> None:
        names, saved_names = [v.name for v in self.variants], [entry["name"] for entry in saved]
        if saved_names != names:
            raise PathwayError(f"the checkpoint holds variants {saved_names}, this run asks for {names}; start a new run to change variants.")
        for v, entry in zip(self.variants, saved):
            v.load(entry["state"])


def variant_names(config: Config, device: torch.device) -> list[str]:
    """The variants to run: `auto` means what makes sense on this device."""
    if config.variants == "auto":
        if device.type != "cuda":
            return ["fp32", "bf16"]
        bf16 = ["bf16"] if torch.cuda.is_bf16_supported() else []  # pre-Ampere GPUs emulate it: leave it out
        return ["fp32", *bf16, "fp16", "fp16-noscale"]
    names = list(dict.fromkeys(config.variants.split(",")))  # keep order, drop repeats
    if device.type == "mps" and any(DTYPES[n] is not None for n in names):
        raise PathwayError("autocast on MPS is not covered by this lab; use device=cpu or a CUDA GPU.")
    return names


def make_variant(name: str, base: nn.Module, config: Config, device: torch.device) -> Variant:
    model = copy.deepcopy(base)  # same starting weights for every variant
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
    use_scaler = name == "fp16"  # bf16 has fp32's exponent range: nothing underflows that fp32 would keep
    scaler = torch.amp.GradScaler(device.type, init_scale=config.init_scale, growth_interval=config.growth_interval, enabled=use_scaler)
    return Variant(name, DTYPES[name], model, optimizer, scaler)


def forward_loss(v: Variant, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> torch.Tensor:
    with torch.autocast(device.type, dtype=v.dtype or torch.float32, enabled=v.dtype is not None):
        logits = v.model(x)  # (B, classes), in v.dtype under autocast
    return F.cross_entropy(logits.float(), y)  # the loss in fp32, outside autocast


def train_step(v: Variant, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, bool]:
    """One optimizer step of one variant; returns (loss, skipped)."""
    loss = forward_loss(v, x, y, device)
    v.optimizer.zero_grad(set_to_none=True)
    if not v.scaler.is_enabled():
        loss.backward()
        v.optimizer.step()
        return loss, False
    v.scaler.scale(loss).backward()  # gradients are S times too large, which lifts small ones out of fp16's underflow
    scale_before = v.scaler.get_scale()  # CPU-GPU sync point: the price of counting skipped steps exactly
    v.scaler.step(v.optimizer)  # unscales in fp32; skips the step if any gradient is inf/nan
    v.scaler.update()  # halves S after an overflow, doubles it after growth_interval clean steps
    return loss, v.scaler.get_scale() < scale_before


def saved_bytes(v: Variant, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> int:
    """Bytes autograd saves for backward in one forward (counted by a saved-tensors hook; no backward runs).

    The fp32 parameters themselves are left out: they are resident anyway, whatever the variant.
    """
    params = {p.data_ptr() for p in v.model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.data_ptr() not in params:
            seen[t.data_ptr()] = t.numel() * t.element_size()  # by storage: a tensor saved twice is stored once
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = forward_loss(v, x, y, device)
    del loss
    return sum(seen.values())


def activation_bytes(v: Variant, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> tuple[int, int]:
    """(activations, weight copies) saved for backward at this batch size.

    Saved bytes = activations (proportional to the batch) + autocast's 16-bit copies of
    the weights (a constant). Counting at batch B and 2B separates the two exactly.
    """
    one = saved_bytes(v, x, y, device)
    two = saved_bytes(v, torch.cat([x, x]), torch.cat([y, y]), device)
    return two - one, max(2 * one - two, 0)


def zero_grad_fraction(model: nn.Module) -> float:
    """Share of gradient entries that are exactly 0 (fp16 underflow shows up here)."""
    zeros = total = 0
    for p in model.parameters():
        if p.grad is not None:
            zeros += (p.grad == 0).sum().item()
            total += p.grad.numel()
    return zeros / max(total, 1)


def max_rss_mb() -> float:
    """This process's RSS high-water mark (getrusage: KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


# --- training --------------------------------------------------------------------------------------------


def train(config: Config, report) -> dict[str, float]:
    # --- device, seeds, data -----------------------------------------------------------------
    if config.threads:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    names = variant_names(config, device)
    torch.manual_seed(config.seed)
    x_all, y_all = teacher_data(config, device)
    report.log_text(f"mixed-precision on {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads; variants {', '.join(names)}")
    if device.type == "cpu" and "bf16" in names:
        from pathway.labs.programs.common.torchkit import has_fast_bf16

        report.log_text("this CPU has native bf16 matmuls (AVX512-BF16 or AMX): bf16 can beat fp32 here" if has_fast_bf16(device)
                        else "this CPU has no native bf16 matmuls: torch emulates them, so expect bf16 slower than fp32")
    if device.type == "cpu" and any(n.startswith("fp16") for n in names):
        report.log_text("note: fp16 autocast on CPU runs, but CPUs have few fp16 kernels: slow, for the loss-scaling demonstration only")

    # --- the same starting model for every variant ----------------------------------------------------
    base = ResidualMLP(config.dim, config.blocks, config.classes, config.checkpointing).to(device)
    n_params = sum(p.numel() for p in base.parameters())
    variants = [make_variant(n, base, config, device) for n in names]
    batch_gen = torch.Generator(device=device).manual_seed(config.seed)
    report.log_text(f"model: residual MLP dim {config.dim}, {config.blocks} blocks, {n_params:,} parameters "
                    f"({n_params * 16 / 2**20:.1f} MiB of fp32 weights + grads + AdamW state per variant); "
                    f"activation checkpointing {'on' if config.checkpointing else 'off'}")

    # --- what each variant keeps for backward: measured once, exactly ---------------------------------------
    probe = torch.arange(min(config.batch_size, len(y_all)), device=device)
    for v in variants:
        activations, copies = activation_bytes(v, x_all[probe], y_all[probe], device)
        v.activation_mb, v.weight_copies_mb = activations / 2**20, copies / 2**20
    report.log_text("saved for backward per step: " + ", ".join(
        f"{v.name} {v.activation_mb:.2f} MiB activations" + (f" + {v.weight_copies_mb:.2f} MiB of 16-bit weight copies" if v.weight_copies_mb > 0.005 else "")
        for v in variants))

    # --- resume -------------------------------------------------------------------------------------
    ckpt = Checkpoint(report, device, batch_gen=batch_gen, variants=AllVariants(variants))
    step = ckpt.resume(config.steps)

    # --- the loop: every variant takes one step on the same batch, in turn -----------------------------------
    on_cuda = device.type == "cuda"
    while step < config.steps and not report.should_stop:
        idx = torch.randint(0, len(y_all), (config.batch_size,), device=device, generator=batch_gen)
        xb, yb = x_all[idx], y_all[idx]
        step += 1
        for v in variants:
            if on_cuda:
                torch.cuda.synchronize()
                before = torch.cuda.memory_allocated()
                torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
            loss, skipped = train_step(v, xb, yb, device)
            if on_cuda:
                torch.cuda.synchronize()  # honest timing: the GPU's work is done when the clock stops
                v.interval["peak_mb"] = max(v.interval["peak_mb"], (torch.cuda.max_memory_allocated() - before) / 2**20)
            dt = time.perf_counter() - t0
            v.skipped += skipped
            v.interval["time_s"] += dt
            v.interval["n"] += 1
            if step > WARMUP_STEPS:
                v.time_s += dt
                v.steps_timed += 1
            v.loss_t = loss  # a tensor: .item() only at report time

        if step % config.log_interval == 0 or step == config.steps:
            metrics: dict[str, float] = {}
            for v in variants:
                v.loss = v.loss_t.item()
                n = max(v.interval["n"], 1)
                metrics[f"{v.name}/loss"] = v.loss
                metrics[f"{v.name}/samples_per_s"] = config.batch_size * n / max(v.interval["time_s"], 1e-9)
                metrics[f"{v.name}/step_ms"] = 1000 * v.interval["time_s"] / n
                metrics[f"{v.name}/zero_grad_frac"] = zero_grad_fraction(v.model)
                if on_cuda:
                    metrics[f"{v.name}/peak_mem_mb"] = v.interval["peak_mb"]
                    v.peak_mb = max(v.peak_mb, v.interval["peak_mb"])
                if v.scaler.is_enabled():
                    metrics[f"{v.name}/loss_scale"] = v.scaler.get_scale()
                    metrics[f"{v.name}/skipped_steps"] = v.skipped
                v.interval = {"time_s": 0.0, "n": 0, "peak_mb": 0.0}
            if not on_cuda:
                metrics["process/max_rss_mb"] = max_rss_mb()
            report.step(step, **metrics)
            if step % (10 * config.log_interval) == 0 or step == config.steps:
                report.log_text(f"step {step}/{config.steps}: " + ", ".join(
                    f"{v.name} loss {v.loss:.4f} {metrics[f'{v.name}/samples_per_s']:,.0f}/s" for v in variants))
                _write_table(report, step, variants, config)
        if step % config.ckpt_interval == 0:
            ckpt.save(step, config=vars(config))

    # --- the verdict -----------------------------------------------------------------------------------
    ckpt.save(step, config=vars(config))
    final: dict[str, float] = {"step": step, "parameters": n_params}
    for v in variants:
        v.loss = forward_loss(v, x_all[probe], y_all[probe], device).item() if math.isnan(v.loss) else v.loss
    fp32 = next((v for v in variants if v.name == "fp32"), None)
    for v in variants:
        speed = config.batch_size * v.steps_timed / v.time_s if v.time_s > 0 else float("nan")
        final[f"{v.name}/loss"] = v.loss
        final[f"{v.name}/samples_per_s"] = speed
        final[f"{v.name}/activation_mb"] = v.activation_mb
        final[f"{v.name}/weight_copies_mb"] = v.weight_copies_mb
        if on_cuda:
            final[f"{v.name}/peak_mem_mb"] = v.peak_mb
        if v.scaler.is_enabled():
            final[f"{v.name}/skipped_steps"] = v.skipped
            final[f"{v.name}/loss_scale"] = v.scaler.get_scale()
        if fp32 is not None and fp32.time_s > 0 and v.time_s > 0:
            final[f"{v.name}/speed_vs_fp32"] = speed / (config.batch_size * fp32.steps_timed / fp32.time_s)
    if not on_cuda:
        final["process/max_rss_mb"] = max_rss_mb()
    report.log_text(_verdict(final, variants, device))
    _write_table(report, step, variants, config, final)
    if report.should_stop:
        report.log_text(f"stopped at step {step}; checkpoint saved, `pathway lab resume` continues from here")
    return final


def _verdict(final: dict, variants: list[Variant], device: torch.device) -> str:
    lines = [f"result after {final['step']} steps on {device} (throughput over steps {WARMUP_STEPS + 1}+; variants interleaved step by step):"]
    for v in variants:
        ratio = final.get(f"{v.name}/speed_vs_fp32")
        parts = [f"{v.name:>12}: final loss {final[f'{v.name}/loss']:.4f}", f"{final[f'{v.name}/samples_per_s']:,.0f} samples/s"]
        if ratio is not None and v.name != "fp32":
            parts.append(f"{ratio:.2f}x fp32's speed ({'faster' if ratio > 1 else 'slower'})")
        parts.append(f"{v.activation_mb:.2f} MiB of activations saved for backward")
        if device.type == "cuda":
            parts.append(f"step peak {v.peak_mb:.1f} MiB above resident")
        if v.scaler.is_enabled():
            parts.append(f"{count(v.skipped, 'skipped step')}, loss scale now {v.scaler.get_scale():g}")
        lines.append(", ".join(parts))
    if device.type != "cuda":
        lines.append(f"memory: process RSS high-water {final['process/max_rss_mb']:.0f} MiB for all variants together "
                     "(getrusage; one process cannot split it per variant, the saved-for-backward bytes can)")
    return "\n".join(lines)


def _write_table(report, step: int, variants: list[Variant], config: Config, final: dict | None = None) -> None:
    """The comparison so far, for the dashboard's sample pane."""
    lines = [f"step {step}: {'final' if final else 'running'} comparison", f"{'variant':>12} {'loss':>8} {'samples/s':>10} {'vs fp32':>8} {'act MiB':>9} {'skipped':>8} {'scale':>9}"]
    fp32 = next((v for v in variants if v.name == "fp32" and v.time_s > 0), None)
    for v in variants:
        speed = config.batch_size * v.steps_timed / v.time_s if v.time_s > 0 else float("nan")
        ratio = speed / (config.batch_size * fp32.steps_timed / fp32.time_s) if fp32 and v.time_s > 0 else float("nan")
        skipped = str(v.skipped) if v.scaler.is_enabled() else "-"
        scale = f"{v.scaler.get_scale():9.3g}" if v.scaler.is_enabled() else f"{'-':>9}"
        lines.append(f"{v.name:>12} {v.loss:8.4f} {speed:10,.0f} {ratio:8.2f} {v.activation_mb:9.2f} {skipped:>8} {scale}")
    report.write_sample("\n".join(lines) + "\n")
