"""Spaced repetition with the `fsrs` package: record answers, build the queues, reset.

    outcome = record_review(engine, "t01-broadcast-shape", rating=3, mode="today",
                            correct=True, answer=0, duration_ms=8200)
    queue = today_queue(engine, course.questions, current_week=study_week(engine, lesson_weeks))
    queue.question_ids          # due reviews first, then new questions
    queue.to_go                 # what the session still shows, learning steps included

A `Card` row holds the fsrs.Card fields as columns; `ReviewLog` is append-only.
Every answer is committed in one transaction the moment it is rated. Modes:
`today` and `drill` move the schedule; `cram` and `mock` are logged and leave it
alone. Questions are passed in as objects with `id`, `topic`, `week`,
`difficulty` and `type` (content's Question fits): `db` never imports `content`.
Times are aware UTC; "today" is the learner's local calendar day.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Protocol, Sequence

import fsrs
from sqlalchemy.engine import Engine
from sqlmodel import Session, delete, select

from pathway.db.models import Activity, Card, Learner, LessonProgress, ReviewLog, utcnow
from pathway.db.progress import get_learner, local_day

MODES = ("today", "drill", "cram", "mock")
SCHEDULING_MODES = ("today", "drill")  # answers in these modes move the card
LEARN_AHEAD = timedelta(minutes=20)  # a learning card due this soon is shown when nothing else is left (as Anki)
RESET_KIND = "quiz_reset"  # Activity kind; item_id is the question id, or None for all questions


class QuestionInfo(Protocol):
    id: str
    topic: int
    week: int
    difficulty: str
    type: str


def _utc(at: datetime | None) -> datetime:
    """fsrs wants tzinfo to be exactly timezone.utc."""
    return (at or utcnow()).astimezone(timezone.utc)


# --- Card <-> fsrs.Card ---------------------------------------------------------------


def scheduler_for(desired_retention: float) -> fsrs.Scheduler:
    """An FSRS scheduler with default parameters and the learner's target retention."""
    return fsrs.Scheduler(desired_retention=desired_retention)


def to_fsrs(row: Card) -> fsrs.Card:
    # card_id is fixed: fsrs would otherwise derive one from the clock and sleep 1 ms.
    return fsrs.Card(
        card_id=0,
        state=fsrs.State(row.state),
        step=row.step,
        stability=row.stability,
        difficulty=row.difficulty,
        due=_utc(row.due),
        last_review=_utc(row.last_review) if row.last_review else None,
    )


def apply_fsrs(row: Card, card: fsrs.Card) -> Card:
    """Copy an fsrs.Card's state into a Card row (in place) and return the row."""
    row.state = int(card.state)
    row.step = card.step
    row.stability = card.stability
    row.difficulty = card.difficulty
    row.due = card.due
    row.last_review = card.last_review
    return row


def new_card(question_id: str, due: datetime | None = None) -> Card:
    """The row of a question never reviewed: learning, step 0, due `due` (default now)."""
    return apply_fsrs(Card(question_id=question_id), fsrs.Card(card_id=0, due=_utc(due)))


# --- answering --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewOutcome:
    log_id: int
    card: Card | None  # the card after the review; unchanged (or None) for cram and mock
    rescheduled: bool


def record_review(
    engine: Engine,
    question_id: str,
    rating: int,
    mode: str,
    correct: bool | None,
    answer: Any,
    duration_ms: int,
    mock_id: int | None = None,
    *,
    now: datetime | None = None,
) -> ReviewOutcome:
    """Log one rated answer and, in today/drill mode, move the card: one transaction, committed now."""
    if rating not in (1, 2, 3, 4):
        raise ValueError(f"rating must be 1 (Again) to 4 (Easy), not {rating!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    at = _utc(now)
    with Session(engine) as session:
        row = session.get(Card, question_id)
        rescheduled = mode in SCHEDULING_MODES
        if rescheduled:
            learner = session.get(Learner, 1) or Learner(id=1, created_at=at)
            card = to_fsrs(row) if row else fsrs.Card(card_id=0, due=at)
            card, _ = scheduler_for(learner.desired_retention).review_card(card, fsrs.Rating(rating), at)
            row = apply_fsrs(row or Card(question_id=question_id), card)
            session.add(row)
        log = ReviewLog(
            question_id=question_id,
            rating=rating,
            reviewed_at=at,
            duration_ms=max(0, int(duration_ms)),
            mode=mode,
            correct=correct,
            answer=None if answer is None else json.dumps(answer, ensure_ascii=False),
            mock_id=mock_id,
            scheduled_due=row.due if rescheduled else None,
        )
        session.add(log)
        session.add(Activity(at=at, day=local_day(at), kind="review", item_id=question_id, detail=json.dumps({"mode": mode})))
        session.commit()
        session.refresh(log)
        if row is not None:
            session.refresh(row)
            session.expunge(row)
        return ReviewOutcome(log_id=log.id, card=row, rescheduled=rescheduled)


def get_card(engine: Engine, question_id: str) -> Card | None:
    with Session(engine) as session:
        return session.get(Card, question_id)


def cards(engine: Engine) -> dict[str, Card]:
    with Session(engine) as session:
        return {row.question_id: row for row in session.exec(select(Card))}


def make_due(engine: Engine, question_ids: Iterable[str], *, now: datetime | None = None) -> int:
    """Bring questions into the review queue now: due cards stay, later ones move up, unseen get a card."""
    at = _utc(now)
    changed = 0
    with Session(engine) as session:
        for question_id in dict.fromkeys(question_ids):
            row = session.get(Card, question_id)
            if row is None:
                session.add(new_card(question_id, at))
            elif row.due > at:
                row.due = at
            else:
                continue
            changed += 1
        session.commit()
    return changed


# --- queues -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TodayQueue:
    reviews: list[str]  # due cards, most overdue first (learning cards from today are never capped)
    new: list[str]  # never-seen questions, current week first
    due_total: int  # every due card of a question in the bank, before the daily cap
    reviews_left: int  # what today's review limit still allows
    new_left: int
    week: int
    learning_soon: list[str]  # learning cards due within LEARN_AHEAD: shown when the rest is done

    @property
    def question_ids(self) -> list[str]:
        return (self.reviews + self.new) or self.learning_soon

    @property
    def to_go(self) -> int:
        """Cards this session still shows, counting the learning cards that come back within
        LEARN_AHEAD: a new card rated Good moves from `new` to `learning_soon`, so the count
        only falls when a card is done for the day and never jumps up when `new` runs out."""
        return len(self.reviews) + len(self.new) + len(self.learning_soon)

    @property
    def backlog(self) -> int:
        """Due reviews held back by the daily limit (0 when none)."""
        return max(0, self.due_total - len(self.reviews))

    def backlog_warning(self) -> str | None:
        if not self.backlog:
            return None
        return (
            f"{self.backlog} more reviews are due than today's limit allows. Raise the daily review limit "
            "or review a little more each day: the backlog grows as cards keep coming due."
        )


def study_week(engine: Engine, lesson_weeks: Mapping[str, int]) -> int:
    """The week new questions come from: the latest week with a completed lesson, or 1.

    Progress, not browsing: opening a week-10 lesson to look at it does not bring week 10's
    questions into Today; completing it does. `lesson_weeks` maps lesson ids to their weeks
    (lessons no longer in the course are ignored).
    """
    with Session(engine) as session:
        done = session.exec(select(LessonProgress.lesson_id).where(LessonProgress.status == "completed")).all()
    return max((lesson_weeks[lesson_id] for lesson_id in done if lesson_id in lesson_weeks), default=1)


def _first_reviews(session: Session, cutoffs: "Cutoffs") -> dict[str, datetime]:
    """First scheduling review of each question since its last reset."""
    first: dict[str, datetime] = {}
    rows = session.exec(
        select(ReviewLog.question_id, ReviewLog.reviewed_at)
        .where(ReviewLog.mode.in_(SCHEDULING_MODES))
        .order_by(ReviewLog.reviewed_at)
    )
    for question_id, at in rows:
        if question_id not in first and not cutoffs.before(question_id, at):
            first[question_id] = at
    return first


def today_queue(
    engine: Engine, questions: Sequence[QuestionInfo], current_week: int = 1, *, now: datetime | None = None
) -> TodayQueue:
    """Due reviews (up to what the daily review limit leaves), then new questions of the current week.

    New questions: the current week's first, then earlier weeks' (skipped ones), in bank
    order, up to what the daily new limit leaves. Questions of later weeks wait.
    Learning cards introduced today are always shown: capping them would strand them.
    """
    at = _utc(now)
    today = local_day(at)
    learner = get_learner(engine)
    by_id = {q.id: q for q in questions}
    with Session(engine) as session:
        rows = {row.question_id: row for row in session.exec(select(Card)) if row.question_id in by_id}
        first = _first_reviews(session, reset_cutoffs(session))
        today_ids = set(
            session.exec(
                select(ReviewLog.question_id).where(ReviewLog.mode.in_(SCHEDULING_MODES), ReviewLog.reviewed_at >= _day_start(at))
            )
        )
    new_today = {qid for qid, at_first in first.items() if local_day(at_first) == today}
    reviewed_today = today_ids - new_today
    reviews_left = max(0, learner.daily_review_limit - len(reviewed_today))
    new_left = max(0, learner.daily_new_limit - len(new_today))
    due = sorted((row for row in rows.values() if row.due <= at), key=lambda row: row.due)
    learning = [row.question_id for row in due if row.question_id in new_today]
    older = [row.question_id for row in due if row.question_id not in new_today]
    reviews = sorted(learning + older[:reviews_left], key=lambda qid: rows[qid].due)
    unseen = [q for q in questions if q.id not in rows]
    ordered = [q for q in unseen if q.week == current_week] + [q for q in unseen if q.week < current_week]
    soon = [
        row.question_id
        for row in sorted(rows.values(), key=lambda r: r.due)
        if at < row.due <= at + LEARN_AHEAD and row.state != int(fsrs.State.Review)
    ]
    return TodayQueue(
        reviews=reviews,
        new=[q.id for q in ordered[:new_left]],
        due_total=len(due),
        reviews_left=reviews_left,
        new_left=new_left,
        week=current_week,
        learning_soon=soon,
    )


def due_count(engine: Engine, question_ids: Iterable[str] | None = None, *, now: datetime | None = None) -> int:
    """Cards due now (optionally only those of questions still in the bank)."""
    at = _utc(now)
    wanted = set(question_ids) if question_ids is not None else None
    with Session(engine) as session:
        ids = session.exec(select(Card.question_id).where(Card.due <= at))
        return sum(1 for qid in ids if wanted is None or qid in wanted)


def lapses(engine: Engine) -> dict[str, int]:
    """Times each question was rated Again in today/drill mode since its last reset."""
    with Session(engine) as session:
        cutoffs = reset_cutoffs(session)
        rows = session.exec(
            select(ReviewLog.question_id, ReviewLog.reviewed_at).where(ReviewLog.rating == 1, ReviewLog.mode.in_(SCHEDULING_MODES))
        )
        counts: dict[str, int] = {}
        for question_id, at in rows:
            if not cutoffs.before(question_id, at):
                counts[question_id] = counts.get(question_id, 0) + 1
        return counts


def drill_queue(
    engine: Engine,
    questions: Sequence[QuestionInfo],
    *,
    topics: Iterable[int] | None = None,
    weeks: Iterable[int] | None = None,
    difficulties: Iterable[str] | None = None,
    types: Iterable[str] | None = None,
    hardest_first: bool = False,
    limit: int | None = None,
    seed: int | None = None,
) -> list[str]:
    """Questions matching the filters: in bank order, shuffled with `seed`, or hardest first.

    Hardest first: highest FSRS difficulty, then most lapses; never-seen questions last.
    """
    # sets made once: a filter given as a generator would be used up by the first question
    topics, weeks, difficulties, types = (None if f is None else set(f) for f in (topics, weeks, difficulties, types))
    keep = [
        q
        for q in questions
        if (topics is None or q.topic in topics)
        and (weeks is None or q.week in weeks)
        and (difficulties is None or q.difficulty in difficulties)
        and (types is None or q.type in types)
    ]
    if seed is not None:
        random.Random(seed).shuffle(keep)
    if hardest_first:
        rows = cards(engine)
        forgotten = lapses(engine)

        def hardness(q: QuestionInfo) -> tuple:
            row = rows.get(q.id)
            seen = row is not None and row.difficulty is not None
            return (not seen, -(row.difficulty or 0) if seen else 0, -forgotten.get(q.id, 0))

        keep.sort(key=hardness)
    ids = [q.id for q in keep]
    return ids[:limit] if limit is not None else ids


# --- resets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cutoffs:
    """When progress was last reset: for everything, and per question."""

    everything: datetime | None
    per_question: dict[str, datetime]

    def of(self, question_id: str) -> datetime | None:
        times = [t for t in (self.everything, self.per_question.get(question_id)) if t is not None]
        return max(times) if times else None

    def before(self, question_id: str, at: datetime) -> bool:
        """True when `at` predates the question's last reset (that history no longer counts)."""
        cutoff = self.of(question_id)
        return cutoff is not None and at <= cutoff


def reset_cutoffs(session: Session) -> Cutoffs:
    everything: datetime | None = None
    per_question: dict[str, datetime] = {}
    for item_id, at in session.exec(select(Activity.item_id, Activity.at).where(Activity.kind == RESET_KIND)):
        if item_id is None:
            everything = max(everything, at) if everything else at
        else:
            per_question[item_id] = max(per_question.get(item_id, at), at)
    return Cutoffs(everything, per_question)


def reset_questions(engine: Engine, question_ids: Iterable[str], *, now: datetime | None = None) -> int:
    """Forget the schedule of some questions: they become new again. The review log is kept
    (the heatmap shows what was done), but mastery and lapses count only what follows."""
    at = _utc(now)
    ids = list(dict.fromkeys(question_ids))
    with Session(engine) as session:
        removed = session.exec(delete(Card).where(Card.question_id.in_(ids))).rowcount
        for question_id in ids:
            session.add(Activity(at=at, day=local_day(at), kind=RESET_KIND, item_id=question_id))
        session.commit()
    return removed


def reset_topic(engine: Engine, questions: Sequence[QuestionInfo], topic: int, *, now: datetime | None = None) -> int:
    return reset_questions(engine, [q.id for q in questions if q.topic == topic], now=now)


def reset_all(engine: Engine, *, now: datetime | None = None) -> int:
    """Forget every card's schedule (see reset_questions)."""
    at = _utc(now)
    with Session(engine) as session:
        removed = session.exec(delete(Card)).rowcount
        session.add(Activity(at=at, day=local_day(at), kind=RESET_KIND, item_id=None, detail=json.dumps({"all": True})))
        session.commit()
    return removed


# --- one question's memory -------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryState:
    state: str  # Learning | Review | Relearning
    difficulty: float | None  # FSRS difficulty, 1 (easy) to 10 (hard)
    stability: float | None  # days until recall probability falls to 90%
    retrievability: float  # recall probability now, 0 to 1
    due: datetime
    last_review: datetime | None
    reviews: int  # rated answers since the last reset, every mode
    lapses: int


def memory_state(engine: Engine, question_id: str, *, now: datetime | None = None) -> MemoryState | None:
    """What FSRS knows about one question, or None if it was never scheduled."""
    at = _utc(now)
    learner = get_learner(engine)
    with Session(engine) as session:
        row = session.get(Card, question_id)
        if row is None:
            return None
        cutoffs = reset_cutoffs(session)
        logs = session.exec(select(ReviewLog).where(ReviewLog.question_id == question_id)).all()
    counted = [log for log in logs if not cutoffs.before(question_id, log.reviewed_at)]
    card = to_fsrs(row)
    return MemoryState(
        state=fsrs.State(row.state).name,
        difficulty=row.difficulty,
        stability=row.stability,
        retrievability=float(scheduler_for(learner.desired_retention).get_card_retrievability(card, at)),
        due=row.due,
        last_review=row.last_review,
        reviews=len(counted),
        lapses=sum(1 for log in counted if log.rating == 1 and log.mode in SCHEDULING_MODES),
    )


def _day_start(at: datetime) -> datetime:
    """Midnight of `at`'s local day, in UTC."""
    local = at.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
