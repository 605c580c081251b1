"""FSRS scheduling through the real database: round trip, cram, queues, drill, reset, stats."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import fsrs
import pytest
from sqlmodel import Session, select

from pathway.quiz import stats as quiz_stats, scheduling as reviews
from pathway.db.models import Activity, Card, ReviewLog
from pathway.db.progress import open_lesson, set_lesson_complete, update_learner

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Q:
    id: str
    topic: int = 1
    week: int = 1
    difficulty: str = "E"
    type: str = "single"


BANK = [
    Q("t01-a", 1, 1, "E"),
    Q("t01-b", 1, 1, "M"),
    Q("t01-c", 1, 2, "H", "numeric"),
    Q("t02-a", 2, 2, "E"),
    Q("t02-b", 2, 3, "M", "recall"),
    Q("t03-a", 3, 3, "H"),
]


def review(engine, qid: str, rating: int = 3, mode: str = "today", at: datetime = T0, correct: bool | None = True):
    return reviews.record_review(engine, qid, rating, mode, correct, {"choice": 1}, 4000, now=at)


def card_state(engine, qid: str) -> dict | None:
    row = reviews.get_card(engine, qid)
    return None if row is None else {k: getattr(row, k) for k in ("state", "step", "stability", "difficulty", "due", "last_review")}


def test_fsrs_state_round_trips_through_the_database(engine) -> None:
    scheduler = reviews.scheduler_for(0.9)
    expected = fsrs.Card(card_id=0, due=T0)
    at = T0
    for rating in (3, 3, 1, 4, 2):
        expected, _ = scheduler.review_card(expected, fsrs.Rating(rating), at)
        # fuzzing makes intervals random: replay what was stored, compare everything else exactly
        outcome = review(engine, "t01-a", rating, at=at)
        stored = reviews.get_card(engine, "t01-a")
        back = reviews.to_fsrs(stored)
        assert back.state == expected.state and back.step == expected.step
        assert back.stability == pytest.approx(expected.stability)
        assert back.difficulty == pytest.approx(expected.difficulty)
        assert back.last_review == at and back.due.tzinfo is timezone.utc
        assert outcome.card.due == stored.due and outcome.rescheduled
        expected.due = back.due  # follow the stored (fuzzed) schedule
        at = max(at, back.due) + timedelta(minutes=1)
    assert reviews.apply_fsrs(Card(question_id="x"), back).due == back.due


def test_record_review_commits_log_card_and_activity(engine, home) -> None:
    outcome = review(engine, "t01-a", 3)
    from pathway.db.engine import open_database

    other = open_database(home)  # a second connection sees it: it is committed
    with Session(other) as session:
        log = session.get(ReviewLog, outcome.log_id)
        assert (log.question_id, log.rating, log.mode, log.correct, log.duration_ms) == ("t01-a", 3, "today", True, 4000)
        assert json.loads(log.answer) == {"choice": 1}
        assert log.reviewed_at == T0 and log.scheduled_due == session.get(Card, "t01-a").due
        assert session.exec(select(Activity).where(Activity.kind == "review")).one().item_id == "t01-a"
    other.dispose()


def test_cram_and_mock_answers_are_logged_but_leave_the_schedule_alone(engine) -> None:
    review(engine, "t01-a", 3)
    before = card_state(engine, "t01-a")
    outcome = review(engine, "t01-a", 1, mode="cram", at=T0 + timedelta(hours=1), correct=False)
    assert not outcome.rescheduled
    review(engine, "t01-a", 1, mode="mock", at=T0 + timedelta(hours=2), correct=False)
    assert card_state(engine, "t01-a") == before
    review(engine, "t01-b", 4, mode="cram")
    assert reviews.get_card(engine, "t01-b") is None, "cramming a new question does not introduce it"
    with Session(engine) as session:
        modes = [log.mode for log in session.exec(select(ReviewLog).order_by(ReviewLog.id))]
        assert modes == ["today", "cram", "mock", "cram"]
        assert session.exec(select(ReviewLog).where(ReviewLog.mode == "cram")).first().scheduled_due is None


@pytest.mark.parametrize("rating, mode", [(0, "today"), (5, "today"), (3, "exam")])
def test_bad_rating_or_mode_is_refused(engine, rating, mode) -> None:
    with pytest.raises(ValueError):
        review(engine, "t01-a", rating, mode=mode)


def test_today_queue_reviews_first_then_new_from_the_current_week(engine) -> None:
    update_learner(engine, daily_new_limit=2, daily_review_limit=5)
    day1 = T0 - timedelta(days=10)
    review(engine, "t01-a", 3, at=day1)
    review(engine, "t02-a", 3, at=day1 + timedelta(minutes=1))
    queue = reviews.today_queue(engine, BANK, current_week=2, now=T0)
    assert queue.reviews == ["t01-a", "t02-a"], "due reviews, most overdue first"
    assert queue.new == ["t01-c", "t01-b"], "week 2 first, then skipped week-1 questions; week 3 waits"
    assert queue.question_ids == queue.reviews + queue.new
    assert queue.backlog_warning() is None


def test_daily_new_limit_counts_what_was_introduced_today(engine) -> None:
    update_learner(engine, daily_new_limit=2)
    review(engine, "t01-a", 1, at=T0)  # new today, rated Again: due again in a minute
    queue = reviews.today_queue(engine, BANK, current_week=1, now=T0 + timedelta(minutes=5))
    assert queue.new_left == 1 and queue.new == ["t01-b"]
    assert queue.reviews == ["t01-a"], "a learning card from today is always shown"


def test_learning_cards_due_soon_are_offered_when_nothing_else_is_left(engine) -> None:
    update_learner(engine, daily_new_limit=1)
    review(engine, "t01-a", 3, at=T0)  # Good on a new card: next step in 10 minutes
    queue = reviews.today_queue(engine, BANK, current_week=1, now=T0 + timedelta(seconds=30))
    assert queue.reviews == [] and queue.new == []
    assert queue.learning_soon == ["t01-a"] and queue.question_ids == ["t01-a"]


def test_backlog_warning_when_due_exceeds_the_review_limit(engine) -> None:
    update_learner(engine, daily_review_limit=2, daily_new_limit=0)
    for index, q in enumerate(BANK):
        review(engine, q.id, 3, at=T0 - timedelta(days=30, minutes=index))
    queue = reviews.today_queue(engine, BANK, now=T0)
    assert queue.due_total == 6 and len(queue.reviews) == 2 and queue.backlog == 4
    assert "4 more reviews are due" in queue.backlog_warning()
    assert queue.reviews == ["t03-a", "t02-b"], "the most overdue come first"


def test_study_week_follows_completed_lessons_not_the_last_one_opened(engine) -> None:
    weeks = {"w01-a": 1, "w01-b": 1, "w03-x": 3, "w10-y": 10}
    assert reviews.study_week(engine, weeks) == 1, "nothing done yet: week 1"
    set_lesson_complete(engine, "w01-a")
    open_lesson(engine, "w10-y")  # only looked at
    assert reviews.study_week(engine, weeks) == 1
    set_lesson_complete(engine, "w03-x")
    assert reviews.study_week(engine, weeks) == 3
    set_lesson_complete(engine, "w03-x", False)
    set_lesson_complete(engine, "gone-lesson")  # no longer in the course: ignored
    assert reviews.study_week(engine, weeks) == 1


def test_to_go_counts_learning_steps_so_it_never_jumps_up(engine) -> None:
    """Rating new cards Good sends them to a 10-minute learning step: the old count
    (question_ids) fell to 0 and then jumped to every card coming back; to_go does not."""
    update_learner(engine, daily_new_limit=3)  # week 1 has two questions
    at = T0
    shown, counts = [], [reviews.today_queue(engine, BANK, now=at).to_go]
    for _ in range(6):
        queue = reviews.today_queue(engine, BANK, now=at)
        if not queue.question_ids:
            break
        qid = queue.question_ids[0]
        shown.append(len(queue.question_ids))
        review(engine, qid, 3, at=at)
        at += timedelta(seconds=30)
        counts.append(reviews.today_queue(engine, BANK, now=at).to_go)
    assert shown[:3] == [2, 1, 2], "what the bar used to count: 1 to go, then 2 (the learning steps)"
    assert counts == [2, 2, 2, 1, 0], "to_go: each card falls off once it is done for the day"


def test_drill_filters_and_hardest_first(engine) -> None:
    assert reviews.drill_queue(engine, BANK, topics=[1]) == ["t01-a", "t01-b", "t01-c"]
    assert reviews.drill_queue(engine, BANK, weeks=[2], difficulties=["E"]) == ["t02-a"]
    assert reviews.drill_queue(engine, BANK, types=["recall"]) == ["t02-b"]
    shuffled = reviews.drill_queue(engine, BANK, seed=3)
    assert sorted(shuffled) == sorted(q.id for q in BANK) and shuffled == reviews.drill_queue(engine, BANK, seed=3)
    review(engine, "t01-a", 4)  # easy: low difficulty
    review(engine, "t01-b", 1)  # again: high difficulty
    review(engine, "t02-a", 1)
    review(engine, "t02-a", 1, at=T0 + timedelta(minutes=2))  # same difficulty band, more lapses
    hardest = reviews.drill_queue(engine, BANK, hardest_first=True)
    assert hardest[:3] == ["t02-a", "t01-b", "t01-a"], "seen cards by difficulty, then lapses"
    assert set(hardest[3:]) == {"t01-c", "t02-b", "t03-a"}, "unseen questions last"
    assert reviews.drill_queue(engine, BANK, hardest_first=True, limit=1) == ["t02-a"]
    assert reviews.lapses(engine) == {"t01-b": 1, "t02-a": 2}


def test_reset_one_question_a_topic_or_all(engine) -> None:
    for q in BANK:
        review(engine, q.id, 1)
    assert reviews.reset_questions(engine, ["t01-a"], now=T0 + timedelta(hours=1)) == 1
    assert reviews.get_card(engine, "t01-a") is None
    assert reviews.lapses(engine).get("t01-a") is None, "history before a reset no longer counts"
    assert reviews.reset_topic(engine, BANK, 2, now=T0 + timedelta(hours=1)) == 2
    assert set(reviews.cards(engine)) == {"t01-b", "t01-c", "t03-a"}
    assert reviews.reset_all(engine, now=T0 + timedelta(hours=1)) == 3
    assert reviews.cards(engine) == {} and reviews.lapses(engine) == {}
    with Session(engine) as session:
        assert len(session.exec(select(ReviewLog)).all()) == 6, "the log is kept"
    mastery = quiz_stats.topic_mastery(engine, BANK, now=T0 + timedelta(hours=2))
    assert all(m.mastery == 0 and m.accuracy is None for m in mastery.values())


def test_memory_state(engine) -> None:
    assert reviews.memory_state(engine, "t01-a") is None
    review(engine, "t01-a", 3, at=T0)
    review(engine, "t01-a", 3, at=T0 + timedelta(minutes=15))
    review(engine, "t01-a", 1, mode="cram", at=T0 + timedelta(minutes=20))
    state = reviews.memory_state(engine, "t01-a", now=T0 + timedelta(days=3))
    assert state.state == "Review" and state.reviews == 3 and state.lapses == 0
    assert 1 <= state.difficulty <= 10 and state.stability > 0
    assert 0 < state.retrievability < 1
    later = reviews.memory_state(engine, "t01-a", now=T0 + timedelta(days=60))
    assert later.retrievability < state.retrievability


def test_topic_mastery(engine) -> None:
    review(engine, "t01-a", 3, at=T0)
    review(engine, "t01-b", 1, at=T0, correct=False)
    review(engine, "t02-b", 4, mode="cram", at=T0, correct=None)  # self-rated, not scheduled
    mastery = quiz_stats.topic_mastery(engine, BANK, now=T0 + timedelta(days=1))
    one = mastery[1]
    assert (one.questions, one.seen, one.answers) == (3, 2, 2)
    assert one.accuracy == 0.5
    assert 0 < one.retrievability <= 1
    assert one.mastery == pytest.approx(2 / 3 * (one.retrievability + 0.5) / 2)
    assert mastery[2].accuracy == 1.0 and mastery[2].seen == 0 and mastery[2].mastery == 0
    assert mastery[3].accuracy is None


def test_heatmap_counts_answers_per_local_day(engine) -> None:
    review(engine, "t01-a", 3, at=T0)
    review(engine, "t01-a", 3, mode="cram", at=T0 + timedelta(minutes=1))
    review(engine, "t01-b", 3, at=T0 - timedelta(days=3))
    review(engine, "t01-c", 3, at=T0 - timedelta(days=400))
    heat = quiz_stats.review_heatmap(engine, now=T0)
    day = lambda at: at.astimezone().date().isoformat()  # noqa: E731
    assert heat == {day(T0): 2, day(T0 - timedelta(days=3)): 1}


def test_streak_skips_days_with_nothing_due_but_breaks_on_missed_ones(engine) -> None:
    days = [T0 - timedelta(days=n) for n in range(10)]
    # Day -9: learn a card with Easy; its first interval is several days, so nothing is due for a while.
    review(engine, "t01-a", 4, at=days[9])
    due = reviews.get_card(engine, "t01-a").due
    gap = (due.astimezone().date() - days[9].astimezone().date()).days
    assert gap >= 3
    # Answer it on its due day: the quiet days in between do not break the streak.
    review(engine, "t01-a", 3, at=due)
    assert quiz_stats.review_streak(engine, now=due) == 2
    assert quiz_stats.review_streak(engine, now=due + timedelta(hours=1)) == 2
    # The next morning with nothing answered yet: today never breaks it.
    assert quiz_stats.review_streak(engine, now=due + timedelta(days=1)) == 2


def test_streak_breaks_when_a_due_day_passes_unanswered(engine) -> None:
    start = T0 - timedelta(days=5)
    review(engine, "t01-a", 1, at=start)  # Again: due again minutes later, the same day
    # Nothing answered for days while the card waits: the streak is gone.
    assert quiz_stats.review_streak(engine, now=T0) == 0
    review(engine, "t01-b", 3, at=T0)
    assert quiz_stats.review_streak(engine, now=T0) == 1


def test_due_forecast_for_seven_days(engine) -> None:
    for index, q in enumerate(BANK[:4]):
        review(engine, q.id, 3, at=T0)
    with Session(engine) as session:  # place the cards: overdue, today, in 3 days, in 9 days
        for qid, offset in zip(["t01-a", "t01-b", "t01-c", "t02-a"], [-2, 0, 3, 9]):
            session.get(Card, qid).due = T0 + timedelta(days=offset)
        session.commit()
    forecast = quiz_stats.due_forecast(engine, now=T0)
    assert len(forecast) == 7 and forecast[0][0] == T0.astimezone().date().isoformat()
    assert [n for _, n in forecast] == [2, 0, 0, 1, 0, 0, 0]
    assert reviews.due_count(engine, now=T0) == 2
    assert reviews.due_count(engine, ["t01-b"], now=T0) == 1


def test_make_due_moves_cards_up_and_introduces_unseen(engine) -> None:
    review(engine, "t01-a", 4, at=T0)
    assert reviews.make_due(engine, ["t01-a", "t01-b"], now=T0 + timedelta(hours=1)) == 2
    assert reviews.get_card(engine, "t01-a").due == T0 + timedelta(hours=1)
    fresh = reviews.get_card(engine, "t01-b")
    assert fresh.state == 1 and fresh.stability is None and fresh.due == T0 + timedelta(hours=1)
    assert reviews.make_due(engine, ["t01-a"], now=T0 + timedelta(hours=2)) == 0, "already due"
