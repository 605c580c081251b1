"""Small query functions for the learner, lesson progress and the activity log.

Each function opens a short session and commits before it returns: a learner
action is on disk the moment it happens.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from pathway.db.failures import DatabaseWriteError
from pathway.db.models import Activity, Learner, LessonProgress, utcnow


STUDY_TIME = "study_time"  # an Activity kind: measured time in use, {"seconds": n}; see pathway.pace


def local_day(at: datetime | None = None) -> str:
    """The learner's calendar day (local time) as YYYY-MM-DD."""
    return (at or utcnow()).astimezone().date().isoformat()


def get_learner(engine: Engine) -> Learner:
    """The learner's settings; the first call on a new database stores the defaults.

    On a database that cannot be written the defaults are returned unsaved, so reading works.
    """
    with Session(engine) as session:
        learner = session.get(Learner, 1)
        if learner is not None:
            return learner
        try:
            learner = Learner(id=1, created_at=utcnow())
            session.add(learner)
            session.commit()
            session.refresh(learner)
            return learner
        except IntegrityError:  # another process stored it first
            session.rollback()
            return session.get(Learner, 1)
        except DatabaseWriteError:
            session.rollback()
            return Learner(id=1, created_at=utcnow())


def update_learner(engine: Engine, **values) -> Learner:
    get_learner(engine)
    with Session(engine) as session:
        learner = session.get(Learner, 1)
        for key, value in values.items():
            if not hasattr(learner, key):
                raise AttributeError(f"Learner has no setting {key!r}")
            setattr(learner, key, value)
        session.commit()
        session.refresh(learner)
        return learner


def log_activity(engine: Engine, kind: str, item_id: str | None = None, **detail) -> None:
    now = utcnow()
    with Session(engine) as session:
        session.add(
            Activity(at=now, day=local_day(now), kind=kind, item_id=item_id, detail=json.dumps(detail) if detail else None)
        )
        session.commit()


def lesson_progress(engine: Engine) -> dict[str, LessonProgress]:
    with Session(engine) as session:
        return {row.lesson_id: row for row in session.exec(select(LessonProgress))}


def open_lesson(engine: Engine, lesson_id: str) -> LessonProgress:
    """Record that the learner opened a lesson; it becomes "continue where you left off"."""
    now = utcnow()
    with Session(engine) as session:
        row = session.get(LessonProgress, lesson_id)
        if row is None:
            row = LessonProgress(lesson_id=lesson_id, status="started", started_at=now)
            session.add(row)
        row.updated_at = now
        learner = session.get(Learner, 1) or Learner(id=1, created_at=now)
        learner.last_lesson_id = lesson_id
        session.add(learner)
        session.add(Activity(at=now, day=local_day(now), kind="lesson_opened", item_id=lesson_id))
        session.commit()
        session.refresh(row)
        return row


def save_scroll(engine: Engine, lesson_id: str, scroll_y: float) -> None:
    with Session(engine) as session:
        row = session.get(LessonProgress, lesson_id)
        if row is None:
            return
        row.scroll_y = float(scroll_y)
        row.updated_at = utcnow()
        session.commit()


def set_lesson_complete(engine: Engine, lesson_id: str, complete: bool = True) -> LessonProgress:
    now = utcnow()
    with Session(engine) as session:
        row = session.get(LessonProgress, lesson_id) or LessonProgress(lesson_id=lesson_id, started_at=now)
        row.status = "completed" if complete else "started"
        row.completed_at = now if complete else None
        row.updated_at = now
        session.add(row)
        if complete:
            session.add(Activity(at=now, day=local_day(now), kind="lesson_completed", item_id=lesson_id))
        session.commit()
        session.refresh(row)
        return row


def reset_lessons(engine: Engine) -> None:
    with Session(engine) as session:
        for row in session.exec(select(LessonProgress)):
            session.delete(row)
        session.commit()


def activity_by_day(engine: Engine, since: date) -> dict[str, int]:
    """Count of actions per local day from `since` on (measured study time is not an action)."""
    with Session(engine) as session:
        rows = session.exec(
            select(Activity.day, func.count())
            .where(Activity.day >= since.isoformat(), Activity.kind != STUDY_TIME)
            .group_by(Activity.day)
        )
        return {day: count for day, count in rows}


def streak(active_days: set[str], today: date) -> int:
    """Consecutive active days ending today; a today without activity yet does not break it."""
    day = today if today.isoformat() in active_days else today - timedelta(days=1)
    count = 0
    while day.isoformat() in active_days:
        count += 1
        day -= timedelta(days=1)
    return count
