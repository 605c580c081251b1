"""Completions from a policy, and held-out scores: the kv-cache lab's batched generation behind the chat template.

    completions = sample(model, chat, problems, max_new_tokens=8, sampling=Sampling(temperature=1.0), generator=g)
    completions[0].ids, completions[0].text           # new ids (through the first <|end|>), the decoded reply
    result = evaluate(model, chat, split.test)        # greedy; result.exact, result.formatted
    report.write_sample(result.table())
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from pathway.labs.programs.kv_cache.generate import GREEDY, Sampling, generate
from pathway.labs.programs.post_training.chat import Chat
from pathway.labs.programs.post_training.task import Problem, Score, Verifier, checked_score, verify

__all__ = ["Completion", "Evaluation", "sample", "evaluate", "Sampling", "GREEDY", "ANSWER_TOKENS"]

ANSWER_TOKENS = 12  # enough for a 9-digit difference and <|end|>; generation stops early when every row has ended


@dataclass
class Completion:
    problem: Problem
    ids: list[int]  # the new tokens, cut after the first <|end|> (kept, so a trainer scores the stop too)
    text: str  # the reply without <|end|>


@dataclass
class Evaluation:
    exact: float  # share of problems answered exactly
    formatted: float  # share answered with one integer, right or wrong
    rows: list[tuple[Completion, Score]] = field(default_factory=list)

    def table(self, n: int = 12, title: str = "") -> str:
        """A plain-text table of the first n problems: question, expected, reply, verdict."""
        lines = [title] if title else []
        lines.append(f"exact match {self.exact:.1%}, format {self.formatted:.1%} on {len(self.rows)} held-out problems")
        lines.append(f"{'question':>22}  {'expected':>10}  {'reply':<14} verdict")
        for completion, score in self.rows[:n]:
            verdict = "right" if score.correct else ("wrong" if score.formatted else "no number")
            lines.append(f"{completion.problem.question:>22}  {completion.problem.answer:>10}  {completion.text[:14]!r:<14} {verdict}")
        return "\n".join(lines) + "\n"


def sample(model, chat: Chat, problems: list[Problem], *, max_new_tokens: int = ANSWER_TOKENS,
           sampling: Sampling = GREEDY, generator: torch.Generator | None = None, batch_size: int = 256) -> list[Completion]:
    """One completion per problem (repeat a problem in the list for several), in batches; the model is left as it was."""
    was_training = model.training
    model.eval()
    out: list[Completion] = []
    try:
        for start in range(0, len(problems), batch_size):
            chunk = problems[start:start + batch_size]
            prompts = [chat.prompt(p.question) for p in chunk]
            gen = generate(model, prompts, max_new_tokens, pad_id=chat.pad_id, eos_id=chat.end_id,
                           sampling=sampling, generator=generator)
            for problem, ids in zip(chunk, gen.rows(eos_id=chat.end_id)):
                out.append(Completion(problem=problem, ids=ids, text=chat.completion_text(ids)))
    finally:
        model.train(was_training)
    return out


def evaluate(model, chat: Chat, problems: list[Problem], *, max_new_tokens: int = ANSWER_TOKENS,
             verifier: Verifier = verify) -> Evaluation:
    """Greedy replies to every problem, scored: exact match and format rate."""
    rows = [(c, checked_score(verifier, c.problem, c.text)) for c in sample(model, chat, problems, max_new_tokens=max_new_tokens)]
    n = max(len(rows), 1)
    return Evaluation(exact=sum(s.correct for _, s in rows) / n, formatted=sum(s.formatted for _, s in rows) / n, rows=rows)
