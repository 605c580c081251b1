"""Keeping pace with the 24-week plan: the calendar's week against the week progress has reached.

    pace = compute_pace(engine, course)          # today, from the learner's plan start
    pace.state                                   # "ahead", "on track", "behind", or "done"
    pace.advice()                                # what to do this week

The calendar week counts from the plan's start date (a setting; the day the home was
made until it is set). The progress week is the week of the first lesson not done.
Hours this week are measured, not typed in: the app logs "study_time" activity for the
time it is used with input no more than IDLE_SECONDS apart (tui/study_clock.py), in
lessons, quizzes and labs alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from pathway.db import progress
from pathway.db.progress import STUDY_TIME
from pathway.db.models import Activity
from pathway.errors import PathwayError
from pathway.i18n import _, current_language, ngettext

PLAN_WEEKS = 24
PLAN_HOURS = (15, 20)  # the plan's weekly hours, low to high


@dataclass
class Pace:
    start: date
    calendar_week: int  # 1..24; PLAN_WEEKS + 1 once the plan's time is over
    progress_week: int  # the first week with a lesson not done; PLAN_WEEKS + 1 when all are done
    hours_this_week: float
    weekly_hours: int
    behind_lessons: list = field(default_factory=list)  # (week, title Text, minutes) not done, up to this week

    @property
    def state(self) -> str:
        if self.progress_week > PLAN_WEEKS:
            return "done"
        if self.progress_week > self.calendar_week:
            return "ahead"
        return "on track" if self.progress_week == self.calendar_week else "behind"

    def advice(self) -> str:
        """One sentence: what to do this week."""
        if self.state == "done":
            return _("Every lesson is done: keep the reviews going and polish the portfolio (pathway portfolio).")
        if self.calendar_week > PLAN_WEEKS:
            return _("The plan's 24 weeks are over; {n} lessons are left, from week {week}.").format(
                n=len(self.behind_lessons), week=self.progress_week
            )
        if self.state == "ahead":
            weeks = self.progress_week - self.calendar_week
            return ngettext("Ahead by {n} week: keep up the due reviews, or run a lab.",
                            "Ahead by {n} weeks: keep up the due reviews, or run a lab.", weeks).format(n=weeks)
        minutes = sum(m for *_rest, m in self.behind_lessons)
        week, title, _minutes = self.behind_lessons[0]
        more = len(self.behind_lessons) - 1
        text = _("This week: W{week:02d} {title}, +{more} more (~{hours:.1f} h).") if more else _("This week: W{week:02d} {title} (~{hours:.1f} h).")
        return text.format(week=week, title=title.get(current_language()), more=more, hours=minutes / 60)

    def to_dict(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "calendar_week": self.calendar_week,
            "progress_week": self.progress_week,
            "state": self.state,
            "hours_this_week": round(self.hours_this_week, 2),
            "weekly_hours": self.weekly_hours,
            "lessons_to_catch_up": [{"week": w, "title": t.en, "minutes": m} for w, t, m in self.behind_lessons],
            "advice": self.advice(),
        }


def plan_start(learner) -> date:
    if learner.plan_start:
        return date.fromisoformat(learner.plan_start)
    made = learner.created_at or datetime.now()
    return made.astimezone().date() if made.tzinfo else made.date()


def study_seconds(engine, since: date) -> float:
    """Measured study time logged on or after the local day `since`."""
    with Session(engine) as session:
        rows = session.exec(
            select(Activity.detail).where(Activity.kind == STUDY_TIME, Activity.day >= since.isoformat())
        ).all()
    total = 0.0
    for detail in rows:
        try:
            total += float(json.loads(detail or "{}").get("seconds", 0))
        except (ValueError, TypeError, AttributeError):
            continue  # a damaged row costs its own seconds, not the total
    return total


def compute_pace(engine, course, today: date | None = None) -> Pace:
    today = today or date.today()
    learner = progress.get_learner(engine)
    start = plan_start(learner)
    calendar_week = max(1, min((today - start).days // 7 + 1, PLAN_WEEKS + 1))
    done = {lesson_id for lesson_id, row in progress.lesson_progress(engine).items() if row.status == "completed"}
    lessons = sorted(course.lessons, key=lambda lesson: (lesson.meta.week, lesson.meta.order))
    left = [lesson for lesson in lessons if lesson.id not in done]
    progress_week = left[0].meta.week if left else PLAN_WEEKS + 1
    behind = [(lesson.meta.week, lesson.meta.title, lesson.meta.minutes) for lesson in left if lesson.meta.week <= calendar_week]
    # "this week" is the plan's week; once the plan is over, the last seven days
    since = start + timedelta(weeks=calendar_week - 1) if calendar_week <= PLAN_WEEKS else today - timedelta(days=6)
    hours = study_seconds(engine, since) / 3600
    return Pace(start, calendar_week, progress_week, hours, learner.weekly_hours, behind)


def parse_start(text: str) -> str:
    """A plan start date as YYYY-MM-DD, or a PathwayError naming the format."""
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise PathwayError(f"The plan's start date {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-02.") from None


def parse_hours(text: str | int) -> int:
    try:
        hours = int(str(text).strip())
    except ValueError:
        hours = -1
    if not 1 <= hours <= 80:
        raise PathwayError(f"Weekly hours {text!r}: give a whole number from 1 to 80 (the plan asks {PLAN_HOURS[0]}-{PLAN_HOURS[1]}).")
    return hours
