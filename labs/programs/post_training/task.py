"""The post-training task: add or subtract two numbers, an answer a program can check.

    spec = TaskSpec(digits=2, n_test=200, seed=0)
    split = spec.split()                          # every problem is in train or in test, never both
    p = split.test[0]; p.question, p.answer       # "47+85", "132"; "07+05", "012"; "85-47", "038"
    verify(p, "132")                              # Score(correct=1.0, formatted=1.0)

Why arithmetic: the reward is exact and free (no reward model to trust), the
answer is a handful of tokens, and a model of a million parameters learns it in
minutes on a CPU, but not perfectly: carries and borrows across several digits
are where a short SFT still fails, which leaves rewards something to fix.

Numbers are zero-padded to a fixed width (operands to `digits`, the answer to
one more), so the k-th digit of every operand sits at the same distance from
the answer's k-th digit in every problem: attention can find the digits to add
by their relative position (RoPE), instead of first working out how long each
number is. Subtraction never goes below zero (a >= b), so there is no sign.

The split is by problem: a question seen in training (in either order of the
operands for +) never appears in the test set, so held-out exact match measures
arithmetic, not recall.

Torch-free: the settings form and the tests read it.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Callable

from pathway.errors import PathwayError

__all__ = ["Problem", "Score", "Split", "TaskSpec", "verify", "checked_score", "ANSWER_FORMAT"]

ENUMERATE_UP_TO = 2_000_000  # distinct problems listed whole (3 digits: 1,001,000) rather than sampled
ANSWER_FORMAT = re.compile(r"\d+")  # the whole completion is one number: no words, no spaces, no second number


@dataclass(frozen=True)
class Problem:
    a: int
    b: int
    op: str  # "+" or "-"
    digits: int = 2  # every number is written zero-padded: operands to this width, the answer to one more

    @property
    def question(self) -> str:
        return f"{self.a:0{self.digits}d}{self.op}{self.b:0{self.digits}d}"

    @property
    def answer(self) -> str:
        return f"{self.a + self.b if self.op == '+' else self.a - self.b:0{self.digits + 1}d}"

    def key(self) -> tuple:
        """What makes two problems the same one: a+b and b+a are one addition."""
        return (min(self.a, self.b), max(self.a, self.b), "+") if self.op == "+" else (self.a, self.b, "-")


@dataclass(frozen=True)
class Score:
    correct: float  # 1.0 when the completion is exactly the answer
    formatted: float  # 1.0 when it has the answer's form (one integer), right or wrong


@dataclass(frozen=True)
class Split:
    train: list[Problem]
    test: list[Problem]


@dataclass(frozen=True)
class TaskSpec:
    """Which problems: operands of up to `digits` digits, both operations, a seeded held-out set of `n_test`."""

    digits: int = 2
    n_test: int = 200
    seed: int = 0
    n_train: int = 50_000  # problems drawn for training (with more digits there are far more than a run sees)

    def __post_init__(self) -> None:
        if not 1 <= self.digits <= 9:
            raise PathwayError(f"digits={self.digits}: the task takes numbers of 1 to 9 digits.")
        if self.n_test > self.n_distinct() // 2:
            raise PathwayError(
                f"n_test={self.n_test} leaves too few of the {self.n_distinct()} distinct {self.digits}-digit problems "
                "for training. Lower n_test or raise digits."
            )

    def n_distinct(self) -> int:
        n = 10 ** self.digits
        return n * (n + 1)  # pairs a >= b: each one addition (up to operand order) and one subtraction

    def draw(self, rng: random.Random) -> Problem:
        hi = 10 ** self.digits - 1
        a, b, op = rng.randint(0, hi), rng.randint(0, hi), rng.choice("+-")
        if op == "-" and a < b:  # no negative answers: a sign is one more thing for a tiny model to get wrong
            a, b = b, a
        return Problem(a, b, op, self.digits)

    def split(self) -> Split:
        """Test problems, then up to n_train training problems that are none of them; the same for every run with this seed.

        A small space (up to 3 digits) is listed whole and shuffled; a larger one is sampled, skipping test problems.
        """
        rng = random.Random(self.seed)
        if self.n_distinct() <= ENUMERATE_UP_TO:
            every = self.every_problem(rng)
            rng.shuffle(every)
            return Split(train=every[self.n_test:self.n_test + self.n_train], test=every[:self.n_test])
        test: dict[tuple, Problem] = {}
        while len(test) < self.n_test:
            p = self.draw(rng)
            test.setdefault(p.key(), p)
        train: dict[tuple, Problem] = {}
        while len(train) < self.n_train:  # the space is at least 100x n_train here: few draws repeat
            p = self.draw(rng)
            if p.key() not in test:
                train.setdefault(p.key(), p)
        return Split(train=list(train.values()), test=list(test.values()))

    def every_problem(self, rng: random.Random) -> list[Problem]:
        """Each distinct problem once: a + b (operands in a random order) and a - b for every a >= b."""
        n = 10 ** self.digits
        out = []
        for a in range(n):
            for b in range(a + 1):
                out.append(Problem(a, b, "+", self.digits) if rng.random() < 0.5 else Problem(b, a, "+", self.digits))
                out.append(Problem(a, b, "-", self.digits))
        return out

    def fingerprint(self) -> str:
        """8 hex digits naming the held-out set: a kept model trained for another split is never taken for this one."""
        text = "\n".join(p.question for p in self.split().test)
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]

    def to_dict(self) -> dict:
        return {"digits": self.digits, "n_test": self.n_test, "seed": self.seed, "n_train": self.n_train}


def verify(problem: Problem, completion: str) -> Score:
    """Exact match of the whole completion (surrounding spaces ignored), and whether it has the answer's form:
    digits only, as many as the answer is wide (leading zeros included)."""
    text = completion.strip()
    formatted = ANSWER_FORMAT.fullmatch(text) is not None and len(text) == len(problem.answer)
    return Score(correct=float(text == problem.answer), formatted=float(formatted))


Verifier = Callable[[Problem, str], Score]


def checked_score(verifier: Verifier, problem: Problem, completion: str) -> Score:
    """The verifier's score; one that raises stops the run with its message and the prompt that triggered it."""
    try:
        score = verifier(problem, completion)
    except Exception as exc:  # any bug in a reward function: the learner needs the input that broke it
        raise PathwayError(
            f"The verifier failed on the prompt {problem.question!r} with the completion {completion!r}: "
            f"{type(exc).__name__}: {exc}. Fix the reward function; the run cannot score its samples without it."
        ) from None
    if not (0.0 <= score.correct <= 1.0 and 0.0 <= score.formatted <= 1.0):
        raise PathwayError(
            f"The verifier scored the prompt {problem.question!r} with {score}; both scores must lie in [0, 1]."
        )
    return score
