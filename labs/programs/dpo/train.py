"""The dpo lab: the SFT model learns from pairs of its own answers, a right one preferred to a wrong one.

    pathway lab run dpo                         # ~1 min on 2 CPU cores, from the sft lab's model
    pathway lab run dpo --set beta=0.1 --set lr=5e-5   # a weaker pull toward the reference: watch held-out accuracy fall

1. Pairs: sample `samples_per_prompt` answers to each of `pair_prompts`
   training prompts from the SFT model; the verifier marks each right or wrong;
   a prompt with at least one of each gives a pair (its first right answer,
   its first wrong one). Prompts the model always gets right, or always wrong,
   give none: they say nothing about which answer is better.
2. The reference is a frozen copy of the SFT model; the DPO loss (`loss.py`)
   raises the policy's log-probability of the chosen answer relative to the
   reference's, and lowers the rejected one's.

This is offline DPO: the pairs are made once, from the starting model, and
stay fixed while the policy moves (GRPO samples afresh every step).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import torch

from pathway.labs.programs.common.lm import lr_at  # warmup, then cosine to a tenth: the sft lab's schedule
from pathway.labs.programs.common.torchkit import Checkpoint, load_checkpoint
from pathway.labs.programs.dpo.loss import dpo_loss
from pathway.labs.programs.dpo.policy import CheckedPolicy, completion_logprobs, completion_rows, start_policy
from pathway.labs.programs.dpo.spec import DPOConfig as Config  # torch-free, so the TUI form can read it
from pathway.labs.programs.post_training.chat import Chat
from pathway.labs.programs.post_training.sampling import Sampling, evaluate, sample
from pathway.labs.programs.post_training.task import Problem, Verifier, checked_score, verify

__all__ = ["Config", "Pair", "build_pairs", "pair_logprobs", "train"]


@dataclass
class Pair:
    problem: Problem
    chosen: list[int]  # answer token ids, <|end|> included when the model wrote it
    rejected: list[int]
    chosen_text: str
    rejected_text: str

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "problem": dataclasses.asdict(self.problem)}

    @classmethod
    def from_dict(cls, d: dict) -> "Pair":
        return cls(**{**d, "problem": Problem(**d["problem"])})


def build_pairs(model, chat: Chat, problems: list[Problem], config: Config, verifier: Verifier,
                gen: torch.Generator) -> tuple[list[Pair], dict[str, int]]:
    """One (right, wrong) pair per prompt whose samples hold both; counts of the prompts that gave none."""
    k = config.samples_per_prompt
    completions = sample(model, chat, [p for p in problems for _ in range(k)], max_new_tokens=config.max_new_tokens,
                         sampling=Sampling(temperature=config.temperature), generator=gen)
    pairs, counts = [], {"all_right": 0, "all_wrong": 0}
    for i, problem in enumerate(problems):
        group = completions[i * k:(i + 1) * k]
        right = [c for c in group if checked_score(verifier, problem, c.text).correct == 1.0]
        wrong = [c for c in group if checked_score(verifier, problem, c.text).correct < 1.0]
        if right and wrong:
            pairs.append(Pair(problem, right[0].ids, wrong[0].ids, right[0].text, wrong[0].text))
        else:
            counts["all_right" if right else "all_wrong"] += 1
    return pairs, counts


def pair_logprobs(model, chat: Chat, pairs: list[Pair], device) -> tuple[torch.Tensor, torch.Tensor]:
    """(chosen, rejected), each (B,): the summed log-probability of each pair's answers under `model`."""
    prompts = [chat.prompt(p.problem.question) for p in pairs]
    inputs, targets, mask = completion_rows(prompts + prompts, [p.chosen for p in pairs] + [p.rejected for p in pairs],
                                            chat.pad_id)
    inputs, targets, mask = inputs.to(device), targets.to(device), mask.to(device)
    logp = (completion_logprobs(model, inputs, targets) * mask).sum(-1)
    return logp[:len(pairs)], logp[len(pairs):]


def pairs_table(pairs: list[Pair], n: int = 10) -> str:
    lines = [f"{'question':>14}  {'answer':>7}  {'chosen':<10} {'rejected':<10}"]
    for p in pairs[:n]:
        lines.append(f"{p.problem.question:>14}  {p.problem.answer:>7}  {p.chosen_text[:10]!r:<10} {p.rejected_text[:10]!r:<10}")
    return "\n".join(lines)


def train(config: Config, report, *, verifier: Verifier = verify) -> dict[str, float]:
    """The lab's entry; `verifier` decides right from wrong (a test passes a broken one)."""
    t_start = time.perf_counter()
    policy, reference, device = start_policy(report, config)
    model, chat = policy.model, policy.chat
    split = policy.task.split()
    report.log_text(f"dpo on {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads; beta {config.beta:g}, "
                    f"{config.batch_size} pairs per step, lr {config.lr:g}")

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr, betas=(0.9, 0.95),
                                  weight_decay=0.0)
    batch_gen = torch.Generator().manual_seed(config.seed)
    saved = load_checkpoint(report.checkpoint_path, device) if report.resuming else None
    part = CheckedPolicy(model, policy.args, chat, policy.run_id, report.checkpoint_path)
    ckpt = Checkpoint(report, device, model=part, optimizer=optimizer, batch_gen=batch_gen)
    step = ckpt.resume(config.steps)

    if saved:  # the pairs and the starting scores travel in the checkpoint: the same data after a resume
        pairs, before = [Pair.from_dict(d) for d in saved["pairs"]], saved["before"]
    else:
        start = evaluate(reference, chat, split.test)
        before = {"exact": start.exact, "formatted": start.formatted}
        report.step(0, **{"eval/exact_match": start.exact, "eval/format_rate": start.formatted})
        report.log_text(f"before DPO: held-out exact match {start.exact:.1%}, format {start.formatted:.1%} "
                        f"on {len(split.test)} problems (greedy)")
        prompt_gen = torch.Generator().manual_seed(config.seed + 1)
        picks = torch.randint(0, len(split.train), (config.pair_prompts,), generator=prompt_gen).tolist()
        t_pairs = time.perf_counter()
        pairs, counts = build_pairs(reference, chat, [split.train[i] for i in picks], config, verifier, prompt_gen)
        report.log_text(
            f"pairs: {len(pairs)} of {config.pair_prompts} prompts had a right and a wrong answer among "
            f"{config.samples_per_prompt} samples at temperature {config.temperature:g}; {counts['all_right']} were "
            f"always right, {counts['all_wrong']} always wrong (no pair); {time.perf_counter() - t_pairs:.0f} s"
        )
    if not pairs:
        from pathway.errors import PathwayError

        raise PathwayError(
            f"No prompt gave a pair: of {config.pair_prompts} prompts, none had both a right and a wrong answer among "
            f"{config.samples_per_prompt} samples. Raise temperature or samples_per_prompt (or pair_prompts)."
        )
    report.write_sample(f"{len(pairs)} preference pairs from the SFT model's own samples\n\n{pairs_table(pairs)}\n")
    extra = {"pairs": [p.to_dict() for p in pairs], "before": before, "config": vars(config)}

    def eval_now():
        result = evaluate(model, chat, split.test)
        report.step(step, **{"eval/exact_match": result.exact, "eval/format_rate": result.formatted})
        report.log_text(f"step {step}/{config.steps}: held-out exact match {result.exact:.1%} (before DPO "
                        f"{before['exact']:.1%}), format {result.formatted:.1%}, {time.perf_counter() - t_start:.0f} s")
        return result

    model.train()
    while step < config.steps and not report.should_stop:
        lr = lr_at(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = [pairs[i] for i in torch.randint(0, len(pairs), (min(config.batch_size, len(pairs)),), generator=batch_gen).tolist()]
        chosen, rejected = pair_logprobs(model, chat, batch, device)
        with torch.no_grad():
            ref_chosen, ref_rejected = pair_logprobs(reference, chat, batch, device)
        terms = dpo_loss(chosen, rejected, ref_chosen, ref_rejected, config.beta)
        optimizer.zero_grad(set_to_none=True)
        terms.loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        step += 1
        if step % config.log_interval == 0 or step in (1, config.steps):  # step 1: pi = pi_ref, loss ln 2
            report.step(step, **{
                "train/loss": terms.loss.item(), "train/margin": float(terms.margin.mean()),
                "train/chosen_logp": float(chosen.detach().mean()), "train/rejected_logp": float(rejected.detach().mean()),
                "train/chosen_reward": float(terms.chosen_reward.mean()),
                "train/rejected_reward": float(terms.rejected_reward.mean()),
                "train/reward_accuracy": terms.reward_accuracy, "train/lr": lr,
            })
        if step % config.eval_interval == 0 and step < config.steps:
            eval_now()
        if step % config.ckpt_interval == 0:
            ckpt.save(step, **extra)

    ckpt.save(step, **extra)
    after = eval_now()
    model.eval()
    with torch.no_grad():  # the implicit reward's ranking over every pair, not one batch
        chosen, rejected = pair_logprobs(model, chat, pairs, device)
        ref_chosen, ref_rejected = pair_logprobs(reference, chat, pairs, device)
        overall = dpo_loss(chosen, rejected, ref_chosen, ref_rejected, config.beta)
    wall = time.perf_counter() - t_start
    report.log_text(
        f"done in {wall:.0f} s: held-out exact match {before['exact']:.1%} -> {after.exact:.1%}, format "
        f"{before['formatted']:.1%} -> {after.formatted:.1%}; over all {len(pairs)} pairs the implicit reward ranks the "
        f"right answer first in {overall.reward_accuracy:.0%}, mean margin {float(overall.margin.mean()):.2f}; chosen "
        f"log-prob {float(ref_chosen.mean()):.2f} -> {float(chosen.mean()):.2f}, rejected {float(ref_rejected.mean()):.2f} "
        f"-> {float(rejected.mean()):.2f}"
    )
    if report.should_stop:
        report.log_text(f"stopped at step {step}; checkpoint saved, `pathway lab resume` continues from here")
    report.write_sample(after.table(n=12, title=f"after DPO (step {step}); before: exact match {before['exact']:.1%}")
                        + f"\n{len(pairs)} preference pairs (first ten)\n{pairs_table(pairs)}\n")
    return {"step": step, "eval/exact_match": after.exact, "eval/format_rate": after.formatted,
            "before/exact_match": before["exact"], "before/format_rate": before["formatted"],
            "train/reward_accuracy": overall.reward_accuracy, "train/margin": float(overall.margin.mean()),
            "train/loss_all_pairs": overall.loss.item(),
            "pairs": float(len(pairs)), "wall_s": wall}
