"""Timed mock interviews: pick questions, time them, grade at the end, report, feed review.

    session = MockSession.start(engine, course.questions, MockSettings(topics=(1, 2), length=10, seed=7),
                                grade=grading.grade_any, expected=grading.correct_answer)
    while session.current is not None:
        session.tick()                          # call often: enforces the time limits
        session.answer(given)                   # no feedback: the grade stays inside
    report = session.finish({"t02-leaf-tensor": 3})   # self-ratings of recall/design items

Time comes from an injectable `clock` (seconds, monotonic), so tests drive it.
Each answer is logged (mode "mock", with the interview's id) the moment it is
given; mock answers never move the FSRS schedule. When the interview ends, the
report is stored in MockInterview.report and the missed questions, plus the
scheduled cards of weak topics, are made due now. `grade(question, answer)`
returns an object with `correct` and `score` (content's grading.grade_any), so
`db` does not import `content`.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from pathway.db.models import Card, MockInterview, ReviewLog, utcnow
from pathway.db.progress import log_activity
from pathway.quiz.scheduling import QuestionInfo, make_due, record_review

DEFAULT_TYPES = ("single", "multi", "numeric", "order", "recall")
SELF_RATED = ("recall", "design")
WEAK_SCORE = 0.6  # a topic answered right less often than this is weak


@dataclass(frozen=True)
class MockSettings:
    topics: tuple[int, ...] = ()  # empty: every topic
    difficulties: tuple[str, ...] = ()  # empty: every level
    types: tuple[str, ...] = DEFAULT_TYPES
    length: int = 10
    per_question_s: float = 120.0
    total_s: float | None = None  # None: per_question_s for each question picked
    seed: int | None = None


def pick_questions(questions: Sequence[QuestionInfo], settings: MockSettings) -> list[QuestionInfo]:
    """Up to `length` matching questions, shuffled with `seed`, spread evenly over topics."""
    pool = [
        q
        for q in questions
        if (not settings.topics or q.topic in settings.topics)
        and (not settings.difficulties or q.difficulty in settings.difficulties)
        and q.type in settings.types
    ]
    rng = random.Random(settings.seed)
    rng.shuffle(pool)
    by_topic: dict[int, list[QuestionInfo]] = defaultdict(list)
    for q in pool:
        by_topic[q.topic].append(q)
    topics = list(by_topic)
    picked: list[QuestionInfo] = []
    while len(picked) < settings.length and any(by_topic.values()):
        for topic in topics:  # round robin: every chosen topic gets asked
            if by_topic[topic] and len(picked) < settings.length:
                picked.append(by_topic[topic].pop())
    rng.shuffle(picked)
    return picked


@dataclass
class MockItem:
    question_id: str
    topic: int
    type: str
    difficulty: str
    status: str = "not_reached"  # not_reached | answered | skipped | timed_out
    answer: Any = None
    seconds: float = 0.0
    correct: bool | None = None  # self-rated items: rating > 1, set at finish
    score: float = 0.0
    rating: int | None = None
    expected: Any = None


@dataclass
class MockSession:
    engine: Engine
    mock_id: int
    questions: list[QuestionInfo]
    settings: MockSettings
    grade: Callable[[Any, Any], Any]
    bank: Sequence[QuestionInfo] = ()
    expected: Callable[[Any], Any] | None = None
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = utcnow
    items: list[MockItem] = field(default_factory=list)
    index: int = 0
    started: float = 0.0
    shown: float = 0.0  # clock time the current question appeared
    report: dict | None = None

    @classmethod
    def start(
        cls,
        engine: Engine,
        bank: Sequence[QuestionInfo],
        settings: MockSettings,
        *,
        grade: Callable[[Any, Any], Any],
        expected: Callable[[Any], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
    ) -> "MockSession":
        """Pick the questions, store the interview row, and start both clocks."""
        questions = pick_questions(bank, settings)
        if not questions:
            raise ValueError("no question matches these topics, levels and types")
        stored = {**asdict(settings), "question_ids": [q.id for q in questions]}
        with Session(engine) as session:
            row = MockInterview(started_at=now(), settings=json.dumps(stored))
            session.add(row)
            session.commit()
            mock_id = row.id
        session_ = cls(engine, mock_id, questions, settings, grade, bank, expected, clock, now)
        session_.items = [MockItem(q.id, q.topic, q.type, q.difficulty) for q in questions]
        session_.started = session_.shown = clock()
        return session_

    # --- where the interview stands ---

    @property
    def current(self) -> QuestionInfo | None:
        return None if self.finished else self.questions[self.index]

    @property
    def finished(self) -> bool:
        return self.report is not None or self.index >= len(self.questions)

    def question_time_left(self) -> float:
        return max(0.0, self.settings.per_question_s - (self.clock() - self.shown))

    @property
    def total_limit_s(self) -> float:
        """The whole interview's limit: as set, or per-question time for each question picked."""
        if self.settings.total_s is not None:
            return self.settings.total_s
        return len(self.questions) * self.settings.per_question_s

    def total_time_left(self) -> float:
        return max(0.0, self.total_limit_s - (self.clock() - self.started))

    def tick(self) -> str | None:
        """Enforce the limits: "total" when the interview ran out of time (it ends),
        "question" when the current question did (it is closed, the next one starts)."""
        if self.finished:
            return None
        if self.total_time_left() <= 0:
            self._close("timed_out", None)
            self.index = len(self.questions)  # the rest stay not_reached
            return "total"
        if self.question_time_left() <= 0:
            self._close("timed_out", None)
            self._advance()
            return "question"
        return None

    # --- the learner's actions ---

    def answer(self, given: Any) -> bool:
        """Take an answer to the current question; False when its time had already run out."""
        if self.tick() is not None or self.finished:
            return False
        self._close("answered", given)
        self._advance()
        return True

    def skip(self) -> None:
        if self.tick() is None and not self.finished:
            self._close("skipped", None)
            self._advance()

    def needs_self_rating(self) -> list[str]:
        """Answered recall/design items: the learner rates them 1-4 against the model answer."""
        return [item.question_id for item in self.items if item.type in SELF_RATED and item.status == "answered"]

    def finish(self, self_ratings: Mapping[str, int] | None = None) -> dict:
        """End the interview: log self-rated items, store the report, feed weak topics to review.
        A self-rated item without a rating counts as Again."""
        if self.report is not None:
            return self.report
        self.tick()
        ratings = dict(self_ratings or {})
        for item in self.items:
            if item.question_id in self.needs_self_rating():
                item.rating = ratings.get(item.question_id, 1)
                item.correct = item.rating > 1
                item.score = 1.0 if item.correct else 0.0
                self._log(item)
        text = json.dumps(self._build_report(), ensure_ascii=False)
        self.report = json.loads(text)  # the same plain JSON that is stored (lists, not tuples)
        with Session(self.engine) as session:
            row = session.get(MockInterview, self.mock_id)
            row.finished_at = self.now()
            row.report = text
            session.commit()
        make_due(self.engine, self._review_ids(), now=self.now())
        log_activity(self.engine, "mock_finished", str(self.mock_id), score=self.report["score"]["percent"])
        return self.report

    # --- inside ---

    def _close(self, status: str, given: Any) -> None:
        item = self.items[self.index]
        question = self.questions[self.index]
        item.status = status
        item.seconds = round(min(self.clock() - self.shown, self.settings.per_question_s), 3)
        item.answer = given
        item.expected = self.expected(question) if self.expected else None
        if item.type in SELF_RATED and status == "answered":
            return  # logged at the end, with the learner's own rating
        if status == "answered":
            result = self.grade(question, given)
            item.correct, item.score = bool(result.correct), float(result.score)
        else:
            item.correct, item.score = False, 0.0
        item.rating = 3 if item.correct else 1
        self._log(item)

    def _log(self, item: MockItem) -> None:
        record_review(
            self.engine,
            item.question_id,
            item.rating,
            "mock",
            item.correct if item.type not in SELF_RATED else None,
            item.answer,
            int(item.seconds * 1000),
            mock_id=self.mock_id,
            now=self.now(),
        )

    def _advance(self) -> None:
        self.index += 1
        self.shown = self.clock()

    def _build_report(self) -> dict:
        asked = [item for item in self.items if item.status != "not_reached"]
        right = [item for item in asked if item.correct]
        by_topic: dict[str, dict] = {}
        for item in asked:
            entry = by_topic.setdefault(str(item.topic), {"asked": 0, "correct": 0})
            entry["asked"] += 1
            entry["correct"] += bool(item.correct)
        for entry in by_topic.values():
            entry["score"] = round(entry["correct"] / entry["asked"], 3)
        weak = sorted(int(topic) for topic, entry in by_topic.items() if entry["score"] < WEAK_SCORE)
        return {
            "mock_id": self.mock_id,
            "settings": asdict(self.settings),
            "total_seconds": round(sum(item.seconds for item in self.items), 3),
            "time_up": any(item.status == "not_reached" for item in self.items),
            "score": {
                "correct": len(right),
                "asked": len(asked),
                "total": len(self.items),
                "percent": round(100 * len(right) / len(self.items), 1),
            },
            "by_topic": by_topic,
            "weak_topics": weak,
            "items": [asdict(item) for item in self.items],
            "missed": [item.question_id for item in self.items if not item.correct],
        }

    def _review_ids(self) -> list[str]:
        """Missed questions, and the already scheduled cards of weak topics."""
        weak = set(self.report["weak_topics"])
        with Session(self.engine) as session:
            scheduled = set(session.exec(select(Card.question_id)))
        in_weak = [q.id for q in self.bank if q.topic in weak and q.id in scheduled]
        asked_missed = [item.question_id for item in self.items if item.status != "not_reached" and not item.correct]
        return asked_missed + in_weak


# --- past interviews ---------------------------------------------------------------------


@dataclass(frozen=True)
class MockSummary:
    id: int
    started_at: datetime
    finished_at: datetime | None  # None: the interview was left unfinished
    length: int
    topics: tuple[int, ...]
    percent: float | None
    weak_topics: tuple[int, ...]


def list_mocks(engine: Engine) -> list[MockSummary]:
    """Every interview, newest first."""
    with Session(engine) as session:
        rows = session.exec(select(MockInterview).order_by(MockInterview.started_at.desc(), MockInterview.id.desc())).all()
    summaries = []
    for row in rows:
        settings = json.loads(row.settings or "{}")
        report = json.loads(row.report) if row.report else None
        summaries.append(
            MockSummary(
                id=row.id,
                started_at=row.started_at,
                finished_at=row.finished_at,
                length=len(settings.get("question_ids", [])),
                topics=tuple(settings.get("topics", ())),
                percent=report["score"]["percent"] if report else None,
                weak_topics=tuple(report["weak_topics"]) if report else (),
            )
        )
    return summaries


def mock_report(engine: Engine, mock_id: int) -> dict | None:
    with Session(engine) as session:
        row = session.get(MockInterview, mock_id)
        return json.loads(row.report) if row and row.report else None


def unfinished_mock(engine: Engine, mock_id: int) -> dict | None:
    """What an interview that was left saved: its questions, and for each what the log holds.

    An unfinished interview has no report (it was never graded as a whole), but every answer
    was logged when it was given. Each item's status: "answered", "skipped" (skipped or timed
    out: logged without an answer), or "not reached". Self-rated (recall) answers are only
    logged at the end, so they show as not reached. None for an unknown or finished interview.

        unfinished_mock(engine, 3)["items"][0]  # {"question_id": ..., "status": "answered", "correct": True, "seconds": 12.0}
    """
    with Session(engine) as session:
        row = session.get(MockInterview, mock_id)
        if row is None or row.report:
            return None
        logs = session.exec(select(ReviewLog).where(ReviewLog.mock_id == mock_id).order_by(ReviewLog.id)).all()
    logged = {log.question_id: log for log in logs}
    items = []
    for question_id in json.loads(row.settings or "{}").get("question_ids", []):
        log = logged.get(question_id)
        if log is None:
            items.append({"question_id": question_id, "status": "not_reached", "correct": None, "seconds": 0.0})
            continue
        status = "answered" if log.answer is not None else "skipped"
        items.append({"question_id": question_id, "status": status, "correct": log.correct, "seconds": log.duration_ms / 1000})
    return {"mock_id": mock_id, "started_at": row.started_at, "items": items}
