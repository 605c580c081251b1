"""LoRA written out: a frozen weight plus a trainable low-rank update, merged back for inference.

    n = apply_lora(model, targets=("wq", "wv"), r=8, alpha=16)    # freezes the model, wraps those Linears
    ...train: only lora_A / lora_B (and anything left trainable on purpose) change...
    merge_lora(model)                                              # W <- W + (alpha / r) B A; plain nn.Linear again

Full fine-tuning updates every weight W (d_out x d_in) and keeps AdamW's two
moments for each: 16 bytes per parameter in fp32. LoRA (Hu et al., 2021,
"LoRA: Low-Rank Adaptation of Large Language Models",
https://arxiv.org/abs/2106.09685) freezes W and learns the change as a product:

    h = W x + (alpha / r) * B (A x)        A: r x d_in, B: d_out x r, r << d

- A starts random (Kaiming-uniform, as nn.Linear and peft do) and B at zero, so
  B A = 0: at step 0 the model is exactly the base model, and the first
  gradients reach B (A's gradient is B^T(...) = 0 until B moves).
- alpha / r scales the update, so changing r does not change how big the
  update is at a given learning rate: r picks the capacity, alpha the step size.
- Merging adds (alpha / r) B A into W once: inference then costs what the base
  model did, with no extra matmul. Unmerged, the adapter can be swapped.

Trainable parameters per adapted matrix: r (d_in + d_out) instead of d_in d_out.
peft's LoraConfig(r, lora_alpha, target_modules) builds the same thing
(https://huggingface.co/docs/peft/package_reference/lora); the sft lab checks
that both give the same outputs and count the same parameters (`peft_check.py`).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from pathway.labs.programs.sft.spec import LORA_TARGETS as TARGETS
from pathway.labs.programs.sft.spec import parse_lora_targets as parse_targets  # torch-free: the settings form checks too

__all__ = ["LoRALinear", "apply_lora", "merge_lora", "lora_parameters", "parse_targets", "TARGETS"]


class LoRALinear(nn.Module):
    """base(x) + (alpha / r) * x A^T B^T, with base frozen."""

    def __init__(self, base: nn.Linear, r: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        base.weight.requires_grad_(False)
        self.r, self.scaling = r, alpha / r
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, device=base.weight.device))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, device=base.weight.device))  # zero: starts as the base
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # nn.Linear's own init, which peft uses for A too

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.lora_A.t() @ self.lora_B.t()) * self.scaling  # (.., d_in) -> (.., r) -> (.., d_out)

    def delta(self) -> torch.Tensor:
        """The dense update this adapter stands for, (d_out, d_in)."""
        return (self.lora_B @ self.lora_A) * self.scaling

    def merged(self) -> nn.Linear:
        """A plain Linear with W + delta: the same function, one matmul."""
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=False, device=self.base.weight.device)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.delta().to(self.base.weight.dtype))
        return out


def _targets_in(model: nn.Module, targets: tuple[str, ...]):
    for parent in model.modules():
        for name, child in parent.named_children():
            if name in targets and isinstance(child, nn.Linear):
                yield parent, name, child


def apply_lora(model: nn.Module, targets: tuple[str, ...], r: int, alpha: float) -> int:
    """Freeze every parameter, wrap each target Linear in a LoRALinear; returns the adapters' parameter count."""
    for p in model.parameters():
        p.requires_grad_(False)
    for parent, name, child in list(_targets_in(model, targets)):
        setattr(parent, name, LoRALinear(child, r, alpha))
    return sum(p.numel() for p in lora_parameters(model))


def lora_parameters(model: nn.Module) -> list[nn.Parameter]:
    return [p for m in model.modules() if isinstance(m, LoRALinear) for p in (m.lora_A, m.lora_B)]


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every LoRALinear by its merged Linear, in place; the model is a plain one again."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LoRALinear):
                setattr(parent, name, child.merged())
    return model
