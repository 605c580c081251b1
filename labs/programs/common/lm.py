"""What the language-model labs (char-transformer, llama) share: the batch sampler and the schedule.

Both read `config.block_size`, `config.batch_size`, `config.lr`, `config.warmup_steps`
and `config.steps`, so one definition serves both labs and stays the same in both.
"""

from __future__ import annotations

import math

import torch


def get_batch(data: torch.Tensor, config, gen: torch.Generator, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """B random windows of T + 1 tokens; the target is the input shifted by one."""
    # high is exclusive: starts run 0 .. len - T - 1, so the last window (and the last token as a target) is drawn too
    starts = torch.randint(0, len(data) - config.block_size, (config.batch_size, 1), generator=gen)
    windows = data[starts + torch.arange(config.block_size + 1)].long()  # (B, T + 1)
    return windows[:, :-1].to(device), windows[:, 1:].to(device)


def lr_at(step: int, config) -> float:
    """Linear warmup, then cosine decay to a tenth of the peak."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))
