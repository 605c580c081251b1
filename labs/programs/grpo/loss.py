"""GRPO's pieces written out: group-normalised advantages, the clipped ratio objective, the KL penalty, and how tokens are averaged.

    adv = group_advantages(rewards, group_size=8, scale="group")    # (P*G,): zero mean within each prompt's group
    terms = grpo_loss(logp, old_logp, ref_logp, adv, mask, LossSettings(clip_eps=0.2, kl_beta=0.04))
    terms.loss.backward(); terms.kl, terms.clip_fraction

GRPO (Shao et al. 2024, DeepSeekMath, https://arxiv.org/abs/2402.03300) is PPO
without the value network: for each prompt it samples a group of G completions,
scores them, and uses each completion's reward relative to its own group as the
advantage of every one of its tokens,

    A_i = (r_i - mean(r_group)) / (std(r_group) + eps)

so a completion counts as good when it beats its siblings, whatever the prompt's
difficulty. A group whose members all score the same has A = 0: it teaches
nothing, which is why a task must sit where the model is sometimes right.

The per-token objective is PPO's clipped one (Schulman et al. 2017,
https://arxiv.org/abs/1707.06347), ratio = pi / pi_old,

    -min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A) + beta * KL_t

with the KL to the frozen reference estimated per sampled token by k3 (Schulman,
"Approximating KL Divergence", http://joschu.net/blog/kl-approx.html):
exp(ref - logp) - (ref - logp) - 1, which is >= 0 for every token and unbiased
for KL(pi || pi_ref) under samples from pi. Clipping only bites when a batch is
reused for more than one update (`updates_per_batch` > 1): at the first update
pi = pi_old, the ratio is 1 and the objective's gradient is plain REINFORCE's.

`kl_ratio_weighted` multiplies the KL term by the ratio too, as TRL's GRPO does
by default (`use_bias_correction_kl`, after DeepSeek-V3.2,
https://arxiv.org/abs/2512.02556): the samples come from pi_old, so weighting
by pi / pi_old makes the KL's gradient the unbiased one. Its value is 1 at the
first update, but its gradient is not, so the two forms train differently.
The default here is DeepSeekMath's unweighted term.

How the per-token terms become one number, `normalisation`:

- "sequence" (the GRPO paper's 1/G sum_i 1/|o_i| sum_t): mean over each
  completion's tokens, then over completions. Every completion weighs the same,
  so each token of a long completion weighs less: a long wrong answer is pushed
  down more gently per token than a short one, and a short right answer pulled
  up harder than a long one. The optimum drifts toward short right answers and
  long wrong ones (the length bias Dr. GRPO points out, Liu et al. 2025,
  https://arxiv.org/abs/2503.20783). TRL's loss_type="grpo".
- "token" (DAPO's token-level loss, Yu et al. 2025, https://arxiv.org/abs/2503.14476):
  the sum over every completion token of the batch divided by their count, so
  every token weighs the same whatever its completion's length. TRL's
  loss_type="bnpo" ("dapo" is the same sum over the token count of the whole
  generation batch); nanochat's choice.
- "constant" (Dr. GRPO): the sum divided by batch size x max_new_tokens, a
  constant, so no length enters the weights at all. TRL's loss_type="dr_grpo".

`scale="none"` drops the division by the group's std, Dr. GRPO's other fix:
dividing by a small std gives the prompts that are almost always right (or
almost always wrong) the largest advantages, a bias by question difficulty.

nanochat's simplification (`nanochat_loss`, scripts/chat_rl.py in
https://github.com/karpathy/nanochat): on-policy so no ratio and no clipping,
no KL and no reference model, advantages r - mean without the std, token-level
normalisation: -sum(logp * A) / tokens, REINFORCE with a group-mean baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["NORMALISATIONS", "SCALES", "group_advantages", "k3_kl", "LossSettings", "GRPOTerms", "grpo_loss",
           "nanochat_loss", "reduce_tokens", "mean_kl"]

NORMALISATIONS = ("sequence", "token", "constant")
SCALES = ("group", "batch", "none")
STD_EPS = 1e-4  # TRL's: a group that all scored the same gets A = 0, not 0 / 0


def group_advantages(rewards: torch.Tensor, group_size: int, scale: str = "group") -> torch.Tensor:
    """(P*G,) rewards, the G completions of each prompt next to each other -> (P*G,) advantages, zero mean per group.

    scale: "group" divides by each group's std, "batch" by the whole batch's, "none" by nothing (Dr. GRPO, nanochat).
    The std is the unbiased one (n - 1), as TRL computes it.
    """
    if scale not in SCALES:
        raise ValueError(f"scale={scale!r}: choose one of {', '.join(SCALES)}.")
    if group_size < 2 or rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {group_size} (a group needs at least 2).")
    groups = rewards.float().view(-1, group_size)
    centred = (groups - groups.mean(dim=1, keepdim=True)).view(-1)
    if scale == "group":
        return centred / (groups.std(dim=1).repeat_interleave(group_size) + STD_EPS)
    if scale == "batch":
        return centred / (rewards.float().std() + STD_EPS)
    return centred


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token estimate of KL(pi || pi_ref) from the sampled token: e^x - x - 1 with x = ref - logp; never negative."""
    x = ref_logp - logp
    return torch.exp(x) - x - 1


def mean_kl(logp: torch.Tensor, ref_logp: torch.Tensor, mask: torch.Tensor) -> float:
    """The k3 estimate averaged over the completion tokens: the KL curve of the lab."""
    fmask = mask.float()
    return float((k3_kl(logp.detach(), ref_logp.detach()) * fmask).sum() / fmask.sum().clamp(min=1.0))


def reduce_tokens(per_token: torch.Tensor, mask: torch.Tensor, normalisation: str, max_new_tokens: int) -> torch.Tensor:
    """(B, T) per-token terms -> one number, the way `normalisation` weighs the tokens (module docstring)."""
    mask = mask.to(per_token.dtype)
    if normalisation == "sequence":
        return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    if normalisation == "token":
        return (per_token * mask).sum() / mask.sum().clamp(min=1.0)
    if normalisation == "constant":
        return (per_token * mask).sum() / (per_token.size(0) * max_new_tokens)
    raise ValueError(f"normalisation={normalisation!r}: choose one of {', '.join(NORMALISATIONS)}.")


@dataclass(frozen=True)
class LossSettings:
    clip_eps: float = 0.2  # 0 = no clipping
    kl_beta: float = 0.04  # 0 = no KL penalty (and no reference model needed)
    normalisation: str = "sequence"
    max_new_tokens: int = 8  # the "constant" normalisation's denominator
    kl_ratio_weighted: bool = False  # multiply the KL term by pi / pi_old (TRL's default since DeepSeek-V3.2; module docstring)


@dataclass
class GRPOTerms:
    loss: torch.Tensor  # scalar, what backward() is called on
    kl: float  # mean k3 estimate over completion tokens (0 when kl_beta = 0 and no reference was given)
    clip_fraction: float  # share of completion tokens whose ratio was clipped (in the direction that matters)
    ratio_mean: float


def grpo_loss(logp: torch.Tensor, old_logp: torch.Tensor, ref_logp: torch.Tensor | None, advantages: torch.Tensor,
              mask: torch.Tensor, settings: LossSettings) -> GRPOTerms:
    """The clipped policy-ratio loss plus beta * k3 KL, all (B, T) over completion tokens; advantages (B,)."""
    adv = advantages.float().unsqueeze(1)  # one advantage for every token of a completion
    ratio = torch.exp(logp - old_logp.detach())
    objective = ratio * adv
    clipped = False
    if settings.clip_eps > 0:
        bounded = torch.clamp(ratio, 1 - settings.clip_eps, 1 + settings.clip_eps) * adv
        clipped = bounded < objective  # where the min picks the clipped term: the update would go too far
        objective = torch.minimum(objective, bounded)
    per_token = -objective
    fmask = mask.float()
    kl_value = 0.0
    if ref_logp is not None:
        kl = k3_kl(logp, ref_logp.detach())
        kl_value = mean_kl(logp, ref_logp, mask)
        if settings.kl_beta > 0:
            per_token = per_token + settings.kl_beta * (kl * ratio if settings.kl_ratio_weighted else kl)
    loss = reduce_tokens(per_token, mask, settings.normalisation, settings.max_new_tokens)
    n = fmask.sum().clamp(min=1.0)
    clip_fraction = float((clipped * fmask).sum() / n) if settings.clip_eps > 0 else 0.0
    return GRPOTerms(loss=loss, kl=kl_value, clip_fraction=clip_fraction,
                     ratio_mean=float((ratio.detach() * fmask).sum() / n))


def nanochat_loss(logp: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """nanochat's simplified GRPO: -sum(logp * A) over every completion token / their count; no ratio, clip or KL."""
    fmask = mask.float()
    return -(logp * advantages.float().unsqueeze(1) * fmask).sum() / fmask.sum().clamp(min=1.0)
