"""Grading of every auto-graded type, with the edges: tolerance boundaries, partial multi answers, ties."""

from __future__ import annotations

import pytest

from pathway.quiz.grading import (
    AGAIN,
    EASY,
    GOOD,
    HARD,
    AnswerError,
    correct_answer,
    grade,
    grade_any,
    parse_number,
    suggest_rating,
)
from pathway.content.questions import QUESTION

BASE = {
    "topic": 1,
    "phase": 1,
    "week": 1,
    "difficulty": "E",
    "prompt": {"en": "Q?", "zh": "题？"},
    "explanation": {"en": "Because.", "zh": "因为。"},
}


def choice(correct: bool, name: str = "x") -> dict:
    return {"text": {"en": name, "zh": name}, "correct": correct, "why": {"en": "w", "zh": "w"}}


def make(kind: str, **fields):
    return QUESTION.validate_python({"id": f"t01-{kind}", "type": kind, **BASE, **fields})


SINGLE = make("single", choices=[choice(False, "a"), choice(True, "b"), choice(False, "c")])
MULTI = make("multi", choices=[choice(True, "a"), choice(False, "b"), choice(True, "c"), choice(True, "d")])
NUMERIC = make("numeric", answer=0.1, tolerance=0.05, unit="GiB", derivation="0.1")
EXACT = make("numeric", answer=4096, tolerance=0, unit="", derivation="2**12")
ORDER = make(
    "order",
    items=[  # positions: c(1) a(2) b(2) d(3): a and b are tied
        {"text": {"en": "a", "zh": "a"}, "position": 2},
        {"text": {"en": "b", "zh": "b"}, "position": 2},
        {"text": {"en": "c", "zh": "c"}, "position": 1},
        {"text": {"en": "d", "zh": "d"}, "position": 3},
    ],
)


def test_single() -> None:
    assert grade(SINGLE, 1).correct and grade(SINGLE, 1).score == 1
    wrong = grade(SINGLE, 0)
    assert not wrong.correct and wrong.score == 0 and not wrong.partial


@pytest.mark.parametrize("bad", [3, -1, "1", True, None])
def test_single_rejects_answers_that_are_not_a_choice(bad) -> None:
    with pytest.raises(AnswerError):
        grade(SINGLE, bad)


def test_multi_exact_set_is_correct_in_any_order() -> None:
    assert grade(MULTI, [3, 0, 2]).correct
    assert grade(MULTI, [0, 2, 3, 3]).correct, "a repeated index is the same set"


@pytest.mark.parametrize(
    "answer, score",
    [
        ([0, 2], 2 / 3),  # missing one correct
        ([0], 1 / 3),
        ([0, 2, 3, 1], 2 / 3),  # every correct plus a wrong one
        ([0, 1], 0.0),  # one right, one wrong cancel out
        ([1], 0.0),  # floored at zero
        ([], 0.0),
    ],
)
def test_multi_partial_answers_are_wrong_with_partial_credit(answer, score) -> None:
    result = grade(MULTI, answer)
    assert not result.correct
    assert result.score == pytest.approx(score)
    assert result.partial == (score > 0)


@pytest.mark.parametrize(
    "answer, correct",
    [
        (0.1, True),
        (0.05, True),  # lower boundary, inclusive
        (0.15, True),  # upper boundary, inclusive (0.15 - 0.1 is 0.04999... or 0.05000...1 in floats)
        ("0.15 GiB", True),  # the question's unit may be typed
        (0.1500001, False),
        (0.0499999, False),
        ("-0.1", False),
    ],
)
def test_numeric_tolerance_boundaries_are_inclusive(answer, correct) -> None:
    assert grade(NUMERIC, answer).correct is correct


def test_numeric_zero_tolerance_and_typed_forms() -> None:
    for typed in ("4096", "4,096", "4_096", "4.096e3", " 4096 ", 4096, 4096.0):
        assert grade(EXACT, typed).correct, typed
    assert not grade(EXACT, "4097").correct
    assert "off by 1" in grade(EXACT, 4097).detail


@pytest.mark.parametrize("typed", ["", "abc", "4096x", "nan", "inf", "1e999", True])
def test_numeric_rejects_what_is_not_a_number(typed) -> None:
    with pytest.raises(AnswerError):
        grade(EXACT, typed)


def test_parse_number_handles_percent_units() -> None:
    assert parse_number("12.5%", "%") == 12.5


@pytest.mark.parametrize("answer", [[2, 0, 1, 3], [2, 1, 0, 3]])
def test_order_tied_items_may_come_either_way(answer) -> None:
    result = grade(ORDER, answer)
    assert result.correct and result.score == 1


def test_order_wrong_gets_the_share_of_pairs_in_order() -> None:
    # 5 pairs have different positions (a-b are tied); putting d first inverts 3 of them.
    result = grade(ORDER, [3, 2, 0, 1])
    assert not result.correct
    assert result.score == pytest.approx(2 / 5)
    assert grade(ORDER, [1, 0, 3, 2]).score == pytest.approx(2 / 5)


@pytest.mark.parametrize("bad", [[0, 1, 2], [0, 0, 1, 2], [0, 1, 2, 4]])
def test_order_needs_every_item_once(bad) -> None:
    with pytest.raises(AnswerError):
        grade(ORDER, bad)


def test_correct_answer_round_trips_through_grade() -> None:
    for question in (SINGLE, MULTI, NUMERIC, EXACT, ORDER):
        assert grade(question, correct_answer(question)).correct


def test_self_rated_types_are_not_auto_graded() -> None:
    recall = make("recall", model_answer={"en": "m", "zh": "m"}, rubric=[{"en": p, "zh": p} for p in "abc"])
    assert not recall.auto_graded and SINGLE.auto_graded
    with pytest.raises(AnswerError):
        grade(recall, "anything")


def test_code_is_graded_by_running_the_tests() -> None:
    code = make(
        "code",
        starter="def f():\n    pass\n",
        solution="def f():\n    return 1\n",
        tests="def test_one():\n    assert f() == 1\n\ndef test_int():\n    assert isinstance(f(), int)\n",
    )
    assert grade_any(code, "def f():\n    return 1\n").correct
    half = grade_any(code, "def f():\n    return 1.0\n")
    assert not half.correct and half.score == 0.5 and half.detail == "1/2 tests passed"
    assert grade_any(SINGLE, 1).correct


@pytest.mark.parametrize(
    "correct, seconds, difficulty, kind, hints, rating",
    [
        (False, 1, "E", "single", 0, AGAIN),
        (False, 500, "H", "code", 2, AGAIN),
        (True, 15, "E", "single", 0, EASY),  # fast boundary is inclusive
        (True, 16, "E", "single", 0, GOOD),
        (True, 45, "E", "single", 0, GOOD),  # slow boundary: Hard only past it
        (True, 46, "E", "single", 0, HARD),
        (True, 5, "E", "single", 1, HARD),  # a hint makes it Hard however fast
        (True, 40, "H", "single", 0, EASY),
        (True, 100, "M", "numeric", 0, GOOD),  # numeric thresholds are doubled: 50 / 150
        (True, 151, "M", "numeric", 0, HARD),
        (True, 300, "M", "code", 0, GOOD),  # code: x8, 200 / 600
    ],
)
def test_suggested_rating(correct, seconds, difficulty, kind, hints, rating) -> None:
    assert suggest_rating(correct, seconds, difficulty, kind, hints) == rating
