"""The DPO loss written out: a policy, a frozen reference, and pairs of a preferred and a rejected completion.

    logp = sequence_logprobs(logits, targets, mask)            # (B,): sum of log p(token) over the completion
    out = dpo_loss(pol_chosen, pol_rejected, ref_chosen, ref_rejected, beta=0.1)
    out.loss.backward(); out.margin, out.chosen_reward, out.rejected_reward

Direct Preference Optimization (Rafailov et al. 2023, https://arxiv.org/abs/2305.18290)
starts from the RLHF objective, max E[r] - beta KL(pi || pi_ref), whose optimum
is pi*(y|x) ∝ pi_ref(y|x) exp(r(x, y) / beta). Solved for r, that is
r = beta log(pi / pi_ref) + beta log Z(x); put into the Bradley-Terry model of
preferences, P(chosen > rejected) = sigmoid(r_c - r_r), the partition function
Z(x) cancels (both completions share the prompt), leaving a classification loss
on log-probability ratios:

    loss = -log sigmoid(beta * ((log pi(y_c) - log pi_ref(y_c)) - (log pi(y_r) - log pi_ref(y_r))))

`beta * (log pi - log pi_ref)` is the "implicit reward" of a completion; the
margin is the chosen one's minus the rejected one's, and its sign is the pair's
"reward accuracy". Nothing in the loss asks the chosen log-probability to rise:
only the gap between the two ratios must widen, so both often fall, the
rejected one faster (watch the chosen log-probability curve in the lab). The
reference enters only through those ratios; beta sets how far from it the
policy may move for a given margin.

The sequence log-probability is a sum over the completion's tokens, not a mean
(the paper's and TRL's `sigmoid` loss): log pi(y|x) of the whole answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["token_logprobs", "sequence_logprobs", "DPOTerms", "dpo_loss"]


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B, T, V) logits and (B, T) next-token ids -> (B, T) log p(target): a log-softmax, then a gather.

    Computed in fp32: a bf16 log-softmax loses the small differences between policy and reference
    that both losses are made of.
    """
    logp = F.log_softmax(logits.float(), dim=-1)
    return logp.gather(-1, targets.long().unsqueeze(-1)).squeeze(-1)


def sequence_logprobs(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B,): log-probability of each row's masked tokens (the completion), summed."""
    return (token_logprobs(logits, targets) * mask.to(torch.float32)).sum(-1)


@dataclass
class DPOTerms:
    loss: torch.Tensor  # scalar: the mean over pairs, what backward() is called on
    chosen_reward: torch.Tensor  # (B,) beta * (log pi - log pi_ref) of the chosen completions, detached
    rejected_reward: torch.Tensor  # (B,) the same for the rejected ones
    margin: torch.Tensor  # (B,) chosen_reward - rejected_reward

    @property
    def reward_accuracy(self) -> float:
        """Share of pairs whose chosen completion has the larger implicit reward."""
        return float((self.margin > 0).float().mean())


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float) -> DPOTerms:
    """The DPO loss from (B,) sequence log-probabilities; the reference's carry no gradient."""
    if beta <= 0:
        raise ValueError(f"beta={beta}: DPO needs beta > 0 (it is the strength of the pull toward the reference).")
    chosen_ratio = policy_chosen - ref_chosen.detach()
    rejected_ratio = policy_rejected - ref_rejected.detach()
    loss = -F.logsigmoid(beta * (chosen_ratio - rejected_ratio)).mean()
    chosen_reward, rejected_reward = beta * chosen_ratio.detach(), beta * rejected_ratio.detach()
    return DPOTerms(loss=loss, chosen_reward=chosen_reward, rejected_reward=rejected_reward,
                    margin=chosen_reward - rejected_reward)

