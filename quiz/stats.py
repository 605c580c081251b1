"""What the review history says: per-topic mastery, heatmap, streak, due forecast.

    mastery = topic_mastery(engine, course.questions)     # {topic: TopicMastery}
    review_heatmap(engine)                                # {"2025-03-01": 12, ...}
    review_streak(engine)                                 # days
    due_forecast(engine, days=7)                          # [("2025-03-01", 30), ...]

Days are the learner's local calendar days. Questions are any objects with `id`
and `topic` (see reviews.QuestionInfo).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from pathway.db.models import Card, ReviewLog
from pathway.db.progress import get_learner, local_day
from pathway.quiz.scheduling import SCHEDULING_MODES, QuestionInfo, _utc, reset_cutoffs, scheduler_for, to_fsrs

RECENT_ANSWERS = 20  # per topic, for recent accuracy


@dataclass(frozen=True)
class TopicMastery:
    """How well a topic is held.

    mastery = coverage * (retrievability + accuracy) / 2, where coverage is the share of
    the topic's questions ever scheduled, retrievability the mean FSRS recall probability
    of those, and accuracy the share right among the topic's last RECENT_ANSWERS answers
    (any mode; a self-rated answer counts as right unless rated Again). Without answers
    accuracy is None and mastery = coverage * retrievability.
    """

    topic: int
    questions: int
    seen: int
    retrievability: float
    accuracy: float | None
    answers: int  # recent answers counted in accuracy
    mastery: float


def topic_mastery(engine: Engine, questions: Sequence[QuestionInfo], *, now: datetime | None = None) -> dict[int, TopicMastery]:
    at = _utc(now)
    scheduler = scheduler_for(get_learner(engine).desired_retention)
    topic_of = {q.id: q.topic for q in questions}
    with Session(engine) as session:
        rows = [row for row in session.exec(select(Card)) if row.question_id in topic_of]
        cutoffs = reset_cutoffs(session)
        logs = session.exec(
            select(ReviewLog.question_id, ReviewLog.reviewed_at, ReviewLog.correct, ReviewLog.rating).order_by(
                ReviewLog.reviewed_at.desc()
            )
        ).all()
    recall: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        recall[topic_of[row.question_id]].append(float(scheduler.get_card_retrievability(to_fsrs(row), at)))
    recent: dict[int, list[bool]] = defaultdict(list)
    for question_id, reviewed_at, correct, rating in logs:
        topic = topic_of.get(question_id)
        if topic is None or len(recent[topic]) >= RECENT_ANSWERS or cutoffs.before(question_id, reviewed_at):
            continue
        recent[topic].append(bool(correct) if correct is not None else rating > 1)
    result = {}
    for topic in sorted(set(topic_of.values())):
        total = sum(1 for t in topic_of.values() if t == topic)
        values = recall.get(topic, [])
        retrievability = sum(values) / len(values) if values else 0.0
        answers = recent.get(topic, [])
        accuracy = sum(answers) / len(answers) if answers else None
        coverage = len(values) / total
        blended = retrievability if accuracy is None else (retrievability + accuracy) / 2
        result[topic] = TopicMastery(topic, total, len(values), retrievability, accuracy, len(answers), coverage * blended)
    return result


def review_heatmap(engine: Engine, days: int = 365, *, now: datetime | None = None) -> dict[str, int]:
    """Answers per local day (every mode) over the last `days` days, today included."""
    at = _utc(now)
    first = (at.astimezone().date() - timedelta(days=days - 1)).isoformat()
    counts: dict[str, int] = {}
    with Session(engine) as session:
        since = at - timedelta(days=days + 1)
        for reviewed_at in session.exec(select(ReviewLog.reviewed_at).where(ReviewLog.reviewed_at >= since)):
            day = local_day(reviewed_at)
            if day >= first:
                counts[day] = counts.get(day, 0) + 1
    return counts


def _local_date(at: datetime) -> date:
    return at.astimezone().date()


def _due_days(engine: Engine, first: date, last: date) -> set[date]:
    """Local days in [first, last] on which some card was due and waiting.

    A card waits from the due time a review gave it until its next review (or a reset).
    The last wait of each card starts at the card's current due time (a mock interview
    may have moved it up) and lasts until now.
    """
    with Session(engine) as session:
        rows = {row.question_id: row for row in session.exec(select(Card))}
        cutoffs = reset_cutoffs(session)
        logs = session.exec(
            select(ReviewLog.question_id, ReviewLog.reviewed_at, ReviewLog.scheduled_due)
            .where(ReviewLog.mode.in_(SCHEDULING_MODES))
            .order_by(ReviewLog.reviewed_at)
        ).all()
    by_question: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for question_id, reviewed_at, scheduled_due in logs:
        by_question[question_id].append((reviewed_at, scheduled_due))
    waits: list[tuple[date, date | None]] = []  # [from, until): until None means still waiting
    for question_id, history in by_question.items():
        for index, (reviewed_at, due) in enumerate(history):
            following = history[index + 1][0] if index + 1 < len(history) else None
            reset = cutoffs.of(question_id)
            if reset is not None and reset > reviewed_at and (following is None or reset < following):
                following = reset
            if following is None:
                break  # the current wait: taken from the card row below
            if due is not None:
                waits.append((_local_date(due), _local_date(following)))
    for row in rows.values():
        waits.append((_local_date(row.due), None))
    days: set[date] = set()
    for start, until in waits:
        day = max(start, first)
        end = min(until - timedelta(days=1), last) if until else last
        while day <= end:
            days.add(day)
            day += timedelta(days=1)
    return days


def review_streak(engine: Engine, *, now: datetime | None = None) -> int:
    """Days with answers in a row, ending today. A day with nothing due and no answers
    neither breaks nor extends it; today counts once answered and never breaks it."""
    at = _utc(now)
    today = _local_date(at)
    with Session(engine) as session:
        active = {_local_date(t) for t in session.exec(select(ReviewLog.reviewed_at))}
    if not active:
        return 0
    first = min(active)
    due_days = _due_days(engine, first, today)
    streak = 1 if today in active else 0
    day = today - timedelta(days=1)
    while day >= first:
        if day in active:
            streak += 1
        elif day in due_days:
            break
        day -= timedelta(days=1)
    return streak


def due_forecast(
    engine: Engine, question_ids: Iterable[str] | None = None, days: int = 7, *, now: datetime | None = None
) -> list[tuple[str, int]]:
    """Cards coming due on each of the next `days` local days; today includes the overdue."""
    at = _utc(now)
    today = _local_date(at)
    wanted = set(question_ids) if question_ids is not None else None
    counts = [0] * days
    with Session(engine) as session:
        for question_id, due in session.exec(select(Card.question_id, Card.due)):
            if wanted is not None and question_id not in wanted:
                continue
            offset = max(0, (_local_date(due) - today).days)
            if offset < days:
                counts[offset] += 1
    return [((today + timedelta(days=i)).isoformat(), counts[i]) for i in range(days)]

