"""What the dpo and grpo labs share: the SFT policy with its frozen reference, and log-probabilities of completions.

    policy, reference, device = start_policy(report, config)   # the sft lab's model (or a short SFT now) + a frozen copy
    inputs, targets, mask = completion_rows(prompt_ids, completion_ids, chat.pad_id)
    logp = completion_logprobs(model, inputs, targets)               # (B, T); mask it to the completion tokens
"""

from __future__ import annotations

import copy
import dataclasses

import torch

from pathway.errors import PathwayError
from pathway.labs.programs.dpo.loss import token_logprobs
from pathway.labs.programs.common.torchkit import pick_device
from pathway.labs.programs.llama.model import load_weights
from pathway.labs.programs.post_training.base import check_compatible
from pathway.labs.programs.post_training.checkpoint import policy_or_sft

__all__ = ["start_policy", "frozen_copy", "CheckedPolicy", "completion_rows", "completion_logprobs"]


def start_policy(report, config):
    """(policy, reference, device): the sft lab's published model (or a short SFT run now) and its frozen copy,
    after the run's threads, device and seed are set from `config` (threads, device, seed, sft_steps)."""
    if config.threads:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    overrides = {"steps": config.sft_steps} if config.sft_steps else {}
    policy = policy_or_sft(report.cache_dir, device, report.log_text, overrides=overrides,
                           should_stop=lambda: report.should_stop)
    report.log_text(f"policy and frozen reference: {policy.where}; SFT reached held-out exact match "
                    f"{policy.metrics.get('eval/exact_match', float('nan')):.1%}")
    return policy, frozen_copy(policy.model), device


class CheckedPolicy:
    """The policy as a checkpoint part, refused by name when the published SFT model changed since the checkpoint."""

    def __init__(self, model, args, chat, run_id: int, where) -> None:
        self.model, self.args, self.chat, self.run_id, self.where = model, args, chat, run_id, where

    def state_dict(self):
        return {"weights": self.model.state_dict(), "args": dataclasses.asdict(self.args), "tokenizer": self.chat.to_json(),
                "sft_run_id": self.run_id}

    def load_state_dict(self, state) -> None:
        check_compatible(self.args, self.chat, state["args"], state["tokenizer"], f"the checkpoint {self.where}")
        if state["sft_run_id"] != self.run_id:
            raise PathwayError(
                f"the checkpoint {self.where} started from the SFT model of run {state['sft_run_id']}, but the one "
                f"published now is from run {self.run_id}: its reference model is gone. Start a new run instead of resuming."
            )
        load_weights(self.model, state["weights"], f"the checkpoint {self.where}")


# --- a model's log-probabilities of its completions (dpo and grpo) ------------------------------

def completion_rows(prompts: list[list[int]], completions: list[list[int]], pad_id: int
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs, targets, mask), each (B, T): prompt + completion per row, right-padded; mask True on completion targets.

    Right padding sits after every real token, so causal attention never lets a real token see it and no
    attention mask is needed (the sft lab's padded batches do the same).
    """
    rows = [p + c for p, c in zip(prompts, completions)]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, (p, c) in enumerate(zip(prompts, completions)):
        ids[i, :len(p) + len(c)] = torch.tensor(p + c, dtype=torch.long)
        mask[i, len(p):len(p) + len(c)] = True
    return ids[:, :-1], ids[:, 1:], mask[:, 1:]  # position t predicts token t + 1: the mask belongs to the target


def completion_logprobs(model, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B, T) log-probability of every target under `model` (mask it with completion_rows' mask)."""
    return token_logprobs(model(inputs), targets)


def frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    """The reference model: a copy that never trains (no gradients, eval mode)."""
    ref = copy.deepcopy(model).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    return ref
