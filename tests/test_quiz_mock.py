"""Mock interviews: picking, timing with an injectable clock, no feedback until the end, the report."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import Session, select

from pathway.quiz.grading import correct_answer, grade_any
from pathway.content.loader import load_course
from pathway.quiz import scheduling as reviews
from pathway.quiz.mock import MockSession, MockSettings, list_mocks, mock_report, pick_questions
from pathway.db.models import MockInterview, ReviewLog

COURSE = load_course(Path(__file__).parent / "fixtures" / "quiz_content")
BANK = COURSE.questions
T0 = datetime(2025, 3, 3, 12, 0, tzinfo=timezone.utc)


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def start(engine, clock: FakeClock, **settings) -> MockSession:
    settings.setdefault("types", ("single", "multi", "numeric", "order", "recall"))
    settings.setdefault("seed", 1)
    return MockSession.start(
        engine, BANK, MockSettings(**settings), grade=grade_any, expected=correct_answer, clock=clock, now=lambda: T0
    )


def right_answer(question):
    return correct_answer(question) if question.type != "recall" else "leaves are made by the user"


def test_pick_is_seeded_filtered_and_spread_over_topics() -> None:
    settings = MockSettings(types=("single", "multi", "numeric", "order", "recall"), length=4, seed=5)
    picked = pick_questions(BANK, settings)
    assert [q.id for q in picked] == [q.id for q in pick_questions(BANK, settings)]
    assert {q.topic for q in picked} == {1, 2}, "both topics are asked"
    only = pick_questions(BANK, MockSettings(topics=(1,), difficulties=("E",), length=10, seed=5))
    assert sorted(q.id for q in only) == ["t01-broadcast-shape", "t01-float32-bytes"]
    assert pick_questions(BANK, MockSettings(topics=(9,))) == []


def test_no_feedback_until_the_end_then_a_full_report(engine) -> None:
    clock = FakeClock()
    session = start(engine, clock, length=5, per_question_s=60)
    seen = []
    while session.current is not None:
        question = session.current
        seen.append(question.id)
        clock.advance(10)
        given = right_answer(question) if question.type != "multi" else [0]  # miss the multi
        assert session.answer(given) is True  # accepted, nothing about right or wrong
    assert session.needs_self_rating() == ["t02-leaf-tensor"]
    report = session.finish({"t02-leaf-tensor": 3})
    assert report["score"] == {"correct": 4, "asked": 5, "total": 5, "percent": 80.0}
    assert report["by_topic"]["1"] == {"asked": 4, "correct": 3, "score": 0.75}
    assert report["missed"] == ["t01-view-contiguous"]
    assert report["weak_topics"] == []
    missed = next(item for item in report["items"] if item["question_id"] == "t01-view-contiguous")
    assert missed["answer"] == [0] and missed["expected"] == [0, 2, 3] and missed["score"] == pytest.approx(1 / 3)
    assert [item["seconds"] for item in report["items"]] == [10.0] * 5
    assert report["total_seconds"] == 50.0 and not report["time_up"]
    assert [item["question_id"] for item in report["items"]] == seen
    assert mock_report(engine, session.mock_id) == report


def test_answers_are_logged_as_they_are_given_without_scheduling(engine) -> None:
    clock = FakeClock()
    session = start(engine, clock, length=3)
    session.answer(right_answer(session.current))
    with Session(engine) as db:
        logs = db.exec(select(ReviewLog)).all()
        assert len(logs) == 1 or session.items[0].type == "recall"
        assert all(log.mode == "mock" and log.mock_id == session.mock_id for log in logs)
    assert reviews.cards(engine) == {}, "mock answers never move the schedule"


def test_per_question_limit_closes_the_question_and_moves_on(engine) -> None:
    clock = FakeClock()
    session = start(engine, clock, length=3, per_question_s=30)
    first = session.current
    clock.advance(29)
    assert session.question_time_left() == pytest.approx(1) and session.tick() is None
    clock.advance(1)
    assert session.tick() == "question"
    assert session.current is not first and session.question_time_left() == 30
    clock.advance(31)
    assert session.answer("too late") is False, "an answer after the limit does not count"
    report = session.finish()
    statuses = [item["status"] for item in report["items"]]
    assert statuses[:2] == ["timed_out", "timed_out"]
    assert report["items"][0]["seconds"] == 30


def test_total_limit_ends_the_interview(engine) -> None:
    clock = FakeClock()
    session = start(engine, clock, length=5, per_question_s=100, total_s=150)
    assert session.total_time_left() == 150
    clock.advance(90)
    session.answer(right_answer(session.current))
    clock.advance(59)
    assert session.tick() is None and session.total_time_left() == pytest.approx(1)
    clock.advance(1)
    assert session.tick() == "total"
    assert session.current is None and session.finished
    report = session.finish()
    assert report["time_up"] is True
    assert [item["status"] for item in report["items"]] == ["answered", "timed_out", "not_reached", "not_reached", "not_reached"]
    assert report["score"]["asked"] == 2 and report["score"]["total"] == 5


def test_weak_topics_and_missed_questions_are_fed_into_review(engine) -> None:
    reviews.record_review(engine, "t01-tensor-steps", 4, "today", True, None, 1000, now=T0 - timedelta(days=1))
    clock = FakeClock()
    session = start(engine, clock, topics=(1,), types=("single", "numeric"), length=2)
    while session.current is not None:
        session.skip()
    report = session.finish()
    assert report["weak_topics"] == [1]
    due = {qid for qid, card in reviews.cards(engine).items() if card.due <= T0}
    assert due == {"t01-broadcast-shape", "t01-float32-bytes", "t01-tensor-steps"}


def test_unrated_self_rated_items_count_as_again(engine) -> None:
    clock = FakeClock()
    session = start(engine, clock, types=("recall",), length=1)
    session.answer("I do not remember")
    report = session.finish()
    assert report["score"]["correct"] == 0
    with Session(engine) as db:
        log = db.exec(select(ReviewLog)).one()
        assert (log.rating, log.correct, json.loads(log.answer)) == (1, None, "I do not remember")


def test_past_interviews_are_listed_newest_first(engine) -> None:
    clock = FakeClock()
    first = start(engine, clock, length=2)
    while first.current is not None:
        first.answer(right_answer(first.current))
    first.finish({q: 4 for q in first.needs_self_rating()})
    unfinished = start(engine, clock, length=2, seed=2)
    listed = list_mocks(engine)
    assert [m.id for m in listed] == [unfinished.mock_id, first.mock_id]
    assert listed[0].finished_at is None and listed[0].percent is None
    assert listed[1].percent == 100.0 and listed[1].length == 2
    with Session(engine) as db:
        stored = json.loads(db.get(MockInterview, first.mock_id).settings)
        assert stored["question_ids"] == [q.id for q in first.questions]


def test_nothing_matches_is_an_error(engine) -> None:
    with pytest.raises(ValueError):
        start(engine, FakeClock(), topics=(14,))
