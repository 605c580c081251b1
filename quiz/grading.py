"""Pure grading of the auto-graded question types, and the suggested FSRS rating.

Answers are plain JSON-able values (they are stored in the review log as given):

| type    | answer                                   | correct when                                   |
|---------|------------------------------------------|------------------------------------------------|
| single  | index of the chosen choice (int)         | it is the correct choice                       |
| multi   | indices of the chosen choices (list)     | the set equals the correct set exactly         |
| numeric | a number, or text like "1,024" / "3e-4"  | abs(value - answer) <= tolerance (inclusive)   |
| order   | item indices in the learner's order      | positions never decrease along it (ties free)  |

Each grade also carries `score` in [0, 1], partial credit shown to the learner
but never turned into "correct":
- multi: (correct picks - wrong picks) / number of correct choices, floored at 0;
- order: the share of item pairs with different positions that are in the right order;
- single, numeric: 1 or 0.

Code exercises are graded by running their tests (`exercise_runner`); recall and
design items are self-rated. `suggest_rating` turns a grade, the time taken, the
hints used and the tries into Again/Hard/Good/Easy, which the learner can change.

    g = grade(question, [0, 2])        # Grade(correct=False, score=0.5, detail=...)
    suggest_rating(g.correct, seconds=12, difficulty="E", kind="multi")
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

from pathway.content.questions import MultiQuestion, NumericQuestion, OrderQuestion, SingleQuestion

AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4
RATING_NAMES = {AGAIN: "Again", HARD: "Hard", GOOD: "Good", EASY: "Easy"}

# Seconds for a single-choice question: at or under `fast` is Easy, over `slow` is Hard.
PACE_S = {"E": (15.0, 45.0), "M": (25.0, 75.0), "H": (45.0, 150.0)}
# Other types take longer to read and answer: the thresholds are scaled.
PACE_SCALE = {"single": 1.0, "multi": 1.5, "order": 1.5, "numeric": 2.0, "code": 8.0}

# Floats such as 0.1 + 0.05 miss an exact boundary by one unit in the last place.
_FLOAT_SLACK = 1e-9


@dataclass(frozen=True)
class Grade:
    correct: bool
    score: float  # partial credit in [0, 1]; 1.0 exactly when correct
    detail: str = ""  # e.g. "2 of 3 correct choices, 1 wrong" or "off by 0.5 (tolerance 0.1)"

    @property
    def partial(self) -> bool:
        return not self.correct and self.score > 0


class AnswerError(ValueError):
    """The answer does not fit the question (an index out of range, not a number, ...)."""


def grade(question: Any, answer: Any) -> Grade:
    """Grade an answer to any auto-graded question except code exercises."""
    graders = {"single": grade_single, "multi": grade_multi, "numeric": grade_numeric, "order": grade_order}
    grader = graders.get(question.type)
    if grader is None:
        raise AnswerError(f"{question.type} questions are not graded here")
    return grader(question, answer)


def grade_any(question: Any, answer: Any) -> Grade:
    """Like `grade`, and code exercises too: `answer` is the learner's code, run against the
    tests in a child process (blocks up to the exercise's time limit: call it from a worker)."""
    if question.type != "code":
        return grade(question, answer)
    from pathway.quiz.exercise_runner import grade_code

    result = grade_code(question, answer or "")
    passed = sum(t.passed for t in result.tests)
    total = max(1, len(result.tests))
    return Grade(correct=result.passed, score=passed / total if result.tests else 0.0, detail=result.summary())


def _index(value: Any, size: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise AnswerError(f"{value!r} is not a choice index between 0 and {size - 1}")
    return value


def grade_single(question: SingleQuestion, answer: int) -> Grade:
    chosen = _index(answer, len(question.choices))
    right = question.choices[chosen].correct
    return Grade(correct=right, score=1.0 if right else 0.0)


def grade_multi(question: MultiQuestion, answer: Sequence[int]) -> Grade:
    chosen = {_index(value, len(question.choices)) for value in answer}
    correct = set(question.correct_indices)
    hits, wrong = len(chosen & correct), len(chosen - correct)
    if chosen == correct:
        return Grade(correct=True, score=1.0, detail=f"all {len(correct)} correct choices")
    score = max(0.0, (hits - wrong) / len(correct))
    return Grade(correct=False, score=score, detail=f"{hits} of {len(correct)} correct choices, {wrong} wrong")


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_number(text: str | float | int, unit: str = "") -> float:
    """Read a typed number: "1,024", "1_024", "3e-4", "-2.5", with the question's unit or % allowed."""
    if isinstance(text, bool):
        raise AnswerError("not a number")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        cleaned = text.strip().replace(",", "").replace("_", "").replace(" ", "")
        if unit and cleaned.lower().endswith(unit.replace(" ", "").lower()):
            cleaned = cleaned[: -len(unit.replace(" ", ""))]
        if not _NUMBER.match(cleaned):
            raise AnswerError(f"{text!r} is not a number")
        value = float(cleaned)
    if not math.isfinite(value):
        raise AnswerError(f"{text!r} is not a finite number")
    return value


def grade_numeric(question: NumericQuestion, answer: str | float | int) -> Grade:
    value = parse_number(answer, question.unit)
    off = abs(value - question.answer)
    slack = _FLOAT_SLACK * max(1.0, abs(question.answer))
    right = off <= question.tolerance + slack
    detail = "" if right else f"off by {off:g} (tolerance {question.tolerance:g})"
    return Grade(correct=right, score=1.0 if right else 0.0, detail=detail)


def grade_order(question: OrderQuestion, answer: Sequence[int]) -> Grade:
    size = len(question.items)
    order = [_index(value, size) for value in answer]
    if sorted(order) != list(range(size)):
        raise AnswerError("the answer must list every item exactly once")
    positions = [question.items[i].position for i in order]
    pairs = good = 0
    for a in range(size):
        for b in range(a + 1, size):
            if positions[a] != positions[b]:
                pairs += 1
                good += positions[a] < positions[b]
    right = good == pairs
    return Grade(correct=right, score=good / pairs, detail="" if right else f"{good} of {pairs} pairs in the right order")


def correct_answer(question: Any) -> Any:
    """A right answer in the same shape as the learner's (for reports and "show answer")."""
    if question.type == "single":
        return question.correct_indices[0]
    if question.type == "multi":
        return question.correct_indices
    if question.type == "numeric":
        return question.answer
    if question.type == "order":
        return sorted(range(len(question.items)), key=lambda i: question.items[i].position)
    return None


def suggest_rating(
    correct: bool, seconds: float, difficulty: str, kind: str = "single", hints_used: int = 0, tries: int = 1
) -> int:
    """Wrong: Again. Right after a hint, on a later try or slower than `slow`: Hard.
    Within `fast`: Easy. Else Good.

    The thresholds are PACE_S[difficulty] scaled by PACE_SCALE[kind] (see the tables above):
    an easy single-choice question answered in 15 s or less is Easy, after 45 s Hard.
    `tries` counts a code exercise's test runs: passing on the second one was not recalled.
    """
    if not correct:
        return AGAIN
    fast, slow = PACE_S.get(difficulty, PACE_S["M"])
    scale = PACE_SCALE.get(kind, 1.0)
    if hints_used > 0 or tries > 1 or seconds > slow * scale:
        return HARD
    if seconds <= fast * scale:
        return EASY
    return GOOD
