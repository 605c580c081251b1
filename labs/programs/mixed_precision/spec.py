"""The mixed-precision lab as the catalog, the settings form and the runner see it: its settings and its entry.

Torch-free: the TUI imports this; the training program is `train.py` beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pathway.labs.engine.contract import Goal, LabSpec, MemoryEstimate
from pathway.labs.engine.memory import human_bytes
from pathway.labs.engine.settings import DEVICE_PATTERN, knob


@dataclass
class MixedPrecisionConfig:
    """One model trained side by side in fp32 and under autocast (bf16; fp16 with and without GradScaler on CUDA)."""

    variants: str = knob(
        "auto", pattern=r"auto|(fp32|bf16|fp16|fp16-noscale)(,(fp32|bf16|fp16|fp16-noscale))*",
        hint="auto or a list like fp32,bf16,fp16",
        help="auto = fp32,bf16 on CPU; fp32,bf16,fp16,fp16-noscale on CUDA. fp16 = autocast fp16 + GradScaler, "
        "fp16-noscale = the bug (no scaler). fp16 on CPU works but is slow: a demonstration only",
    )
    # model: a residual MLP (pre-LayerNorm blocks, as in a Transformer's MLP half) on a teacher-labelled task
    dim: int = knob(256, lo=8, hi=65536, help="width of the residual stream; matmul-heavy enough that the dtype matters")
    blocks: int = knob(4, lo=1, hi=256, help="residual blocks (LayerNorm -> Linear 4x -> GELU -> Linear); each is a checkpointing unit")
    classes: int = knob(10, lo=2, hi=100_000, help="classes of the synthetic task (labels from a fixed random teacher network)")
    # optimization
    steps: int = knob(200, lo=1, hi=10_000_000, help="optimizer steps of every variant; the variants take turns step by step, so machine noise hits all alike")
    batch_size: int = knob(256, lo=1, hi=1_000_000, help="samples per step")
    lr: float = knob(1e-3, lo=1e-7, hi=10.0, help="AdamW's learning rate, the same for every variant")
    seed: int = knob(0, lo=0, hi=2**31 - 1, help="same seed: every variant starts from the same weights and sees the same batches")
    # fp16 loss scaling
    init_scale: float = knob(65536.0, lo=1.0, hi=2.0**40, help="GradScaler's starting loss scale (2^16 is torch's default); 2^24 forces early overflows and skipped steps")
    growth_interval: int = knob(
        100, lo=1, hi=1_000_000,
        help="clean steps before GradScaler doubles the scale; torch's default is 2000, 100 makes the sawtooth visible in a short run",
    )
    # memory
    checkpointing: bool = knob(False, help="activation checkpointing per block: stores each block's input only and recomputes the rest in backward (less memory, ~1/3 more compute)")
    # logging and checkpoints
    log_interval: int = knob(10, lo=1, hi=100_000, help="steps between reports; each report syncs the device once")
    ckpt_interval: int = knob(100, lo=1, hi=1_000_000, help="steps between checkpoints of all variants; a killed run resumes from the last one")
    # where it runs
    device: str = knob("auto", pattern=DEVICE_PATTERN, hint="auto, cpu, mps, cuda or cuda:N", help="auto = CUDA, else MPS, else CPU; or name one: cpu, cuda, cuda:1, mps")
    threads: int = knob(1, lo=0, hi=1024, help="CPU threads for torch; 0 = torch's choice. 1 measures steadily on shared cores")

    def goals(self) -> tuple[Goal, ...]:
        """Every variant that should train (not fp16-noscale, the bug) ends below chance, ln(classes).

        With variants=auto only fp32 is sure to run (bf16 is left out on GPUs without it, fp16 on CPU).
        """
        chance = math.log(self.classes)
        if self.variants == "auto":
            judged = [("fp32", True), ("bf16", False), ("fp16", False)]
        else:
            judged = [(name, True) for name in dict.fromkeys(self.variants.split(",")) if name != "fp16-noscale"]
        return tuple(
            Goal(f"{name}/loss", below=chance, required=required,
                 why=f"A uniform guess over {self.classes} classes scores ln({self.classes}) = {chance:.2f} nats. Lower lr.")
            for name, required in judged
        )

    def memory_estimate(self) -> MemoryEstimate:
        """Each variant keeps its own model and AdamW state (16 bytes a parameter, + a 16-bit weight copy under
        autocast); they take turns, so one variant's activations at a time: ~11 dim numbers per sample and block
        (the input, LayerNorm, 4 dim before and after GELU), or dim per block with checkpointing. Plus the data set."""
        from pathway.labs.engine.memory import training_bytes

        variants = 2 if self.variants == "auto" else len(set(self.variants.split(",")))
        params = self.blocks * (8 * self.dim * self.dim + 7 * self.dim) + self.dim * self.classes + 3 * self.dim
        per_sample = self.blocks * (self.dim if self.checkpointing else 11 * self.dim) + 11 * self.dim + 3 * self.classes
        data = max(16 * self.batch_size, 8192) * self.dim
        total = training_bytes(variants * params * 1.125, self.batch_size * per_sample + data + params)  # + the start copy
        weights = human_bytes(variants * params * 18)
        return MemoryEstimate(total, "dim (the weights grow with its square), blocks or batch_size",
                              f"weights, gradients and AdamW state of {variants} variants {weights}")


SPEC = LabSpec(
    id="mixed-precision",
    title="Mixed precision: fp32 vs bf16 autocast (and fp16 + GradScaler on CUDA)",
    description=(
        "One residual MLP trained side by side, step by step, in fp32 and under autocast: bf16 on CPU; "
        "bf16, fp16 with GradScaler and fp16 without it on CUDA. Reports each variant's throughput, "
        "memory, final loss and speed ratio to fp32, and for fp16 the loss-scale curve and the skipped "
        "steps. On a small CPU model bf16 can be slower: the lab reports what it measures."
    ),
    lesson_ids=("w15-mixed-precision-memory",),
    config_cls=MixedPrecisionConfig,
    module="pathway.labs.programs.mixed_precision.train",
    # default config (fp32 + bf16, 200 steps each), launch to finish: 23 s on 2 shared CPU cores
    expected_seconds={"cpu": 25, "cuda": 30},
    # on a GPU: big enough that tensor cores, not kernel launches, set the pace
    cuda_defaults={"dim": 1024, "blocks": 8, "batch_size": 512, "steps": 1000, "growth_interval": 200, "threads": 0},
    # losses only: one y axis; fp16/loss_scale (~1e4-1e6) would flatten them (it is in sample.txt's table)
    chart_metrics=("*/loss",),
)
