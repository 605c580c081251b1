"""Every table pathway stores, in one module (SQLModel style).

Progress rows point at content by stable id (lesson id, question id, lab id),
never at file names or positions, so content can move and be reworded freely.
All times are UTC. SQLite keeps no time zone, so `UtcDateTime` stores naive
UTC and hands back aware datetimes: code never sees a naive time.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class UtcDateTime(sa.types.TypeDecorator):
    """A DateTime column that always returns timezone-aware UTC values."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use pathway.db.models.utcnow()")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _time(nullable: bool = True, index: bool = False):
    return Field(default=None, sa_type=UtcDateTime, nullable=nullable, index=index)


# --- Learner -----------------------------------------------------------------


class Learner(SQLModel, table=True):
    """The one learner of this home: settings and where they left off."""

    id: int = Field(default=1, primary_key=True)
    theme: str = "textual-dark"
    language: str = "en"  # "en" or "zh": lesson and question text
    daily_new_limit: int = 10  # new questions introduced per day
    daily_review_limit: int = 100  # due reviews shown per day
    desired_retention: float = 0.9  # FSRS target recall probability
    daily_goal_minutes: int = 45
    plan_start: Optional[str] = None  # YYYY-MM-DD the 24-week plan began; None: the day this home was made
    weekly_hours: int = 15  # study hours a week the learner aims at (the plan says 15-20)
    last_lesson_id: Optional[str] = None  # "continue where you left off"
    created_at: Optional[datetime] = _time()


class LessonProgress(SQLModel, table=True):
    lesson_id: str = Field(primary_key=True)
    status: str = "started"  # started | completed
    started_at: Optional[datetime] = _time()
    completed_at: Optional[datetime] = _time()
    scroll_y: float = 0.0  # last scroll offset in the lesson view, in lines
    updated_at: Optional[datetime] = _time()


class Activity(SQLModel, table=True):
    """One learner action, for streaks, the heatmap and "today"."""

    id: Optional[int] = Field(default=None, primary_key=True)
    at: Optional[datetime] = _time(nullable=False, index=True)
    day: str = Field(index=True)  # local calendar day, YYYY-MM-DD, when it happened
    kind: str  # lesson_opened | lesson_completed | review | lab_started | mock_finished | study_time
    item_id: Optional[str] = None
    detail: Optional[str] = None  # small JSON payload


# --- Quiz --------------------------------------------------------------------


class Card(SQLModel, table=True):
    """FSRS memory state of one question (the fields of fsrs.Card, as columns)."""

    question_id: str = Field(primary_key=True)
    state: int = 1  # fsrs.State: 1 learning, 2 review, 3 relearning
    step: Optional[int] = None
    stability: Optional[float] = None
    difficulty: Optional[float] = None
    due: Optional[datetime] = _time(nullable=False, index=True)
    last_review: Optional[datetime] = _time()


class ReviewLog(SQLModel, table=True):
    """Append-only: one row per rated answer, committed when it is rated."""

    id: Optional[int] = Field(default=None, primary_key=True)
    question_id: str = Field(index=True)
    rating: int  # 1 Again, 2 Hard, 3 Good, 4 Easy
    reviewed_at: Optional[datetime] = _time(nullable=False, index=True)
    duration_ms: int = 0
    mode: str = "today"  # today | drill | cram | mock
    correct: Optional[bool] = None  # None for self-rated items
    answer: Optional[str] = None  # JSON of what the learner gave
    mock_id: Optional[int] = Field(default=None, foreign_key="mockinterview.id")
    # The due time this review gave the card (None when the schedule was left alone:
    # cram, mock). Lets the streak tell a day with nothing due from a missed one.
    scheduled_due: Optional[datetime] = _time()


class MockInterview(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    started_at: Optional[datetime] = _time(nullable=False)
    finished_at: Optional[datetime] = _time()
    settings: str = "{}"  # JSON: topics, difficulty, length, time limits
    report: Optional[str] = None  # JSON, written when it ends


# --- Labs --------------------------------------------------------------------


class Run(SQLModel, table=True):
    """One lab job. The runner process owns it while it runs."""

    id: Optional[int] = Field(default=None, primary_key=True)
    lab: str = Field(index=True)
    config: str = "{}"  # JSON of the validated config
    status: str = Field(default="queued", index=True)
    # queued | running | succeeded | failed | stopped | diverged | interrupted
    pid: Optional[int] = None
    pid_create_time: Optional[float] = None  # tells a live pid from a reused one
    heartbeat_at: Optional[datetime] = _time()
    created_at: Optional[datetime] = _time(nullable=False)
    started_at: Optional[datetime] = _time()
    finished_at: Optional[datetime] = _time()
    run_dir: str = ""
    device: Optional[str] = None
    step: int = 0  # last reported step
    total_steps: Optional[int] = None
    final_metrics: Optional[str] = None  # JSON
    error: Optional[str] = None  # message or traceback
    portfolio: bool = False  # chosen for `pathway portfolio` (p on the Labs screen)


class Metric(SQLModel, table=True):
    """One scalar at one step: step metrics from the lab, system metrics from the sampler."""

    __table_args__ = (sa.Index("ix_metric_run_name_step", "run_id", "name", "step"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id", ondelete="CASCADE")
    step: int
    t: float  # seconds since the epoch
    name: str  # e.g. train/loss, eval/acc, sys/cpu_percent, gpu0/util
    value: float
    rank: int = 0
