"""What each field of a progress file may hold, beyond its column type.

    problem = check_row("reviewlog", {"rating": 99, ...}, known)   # "rating must be 1 to 4, not 99"

`transfer.parse_progress` applies these after the type checks. Ids that point at
content (lessons, questions) or at labs are checked against `Known`, which the
caller fills from the current course and lab catalog (db/ imports neither).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

Rule = Callable[[Any, "Known"], "str | None"]  # the problem with a (non-empty) value, or None


@dataclass(frozen=True)
class Known:
    """The ids an imported row may point at; None for a kind means "not checked"."""

    lessons: frozenset[str] | None = None
    questions: frozenset[str] | None = None
    labs: frozenset[str] | None = None
    run_statuses: tuple[str, ...] | None = None


def one_of(*allowed: Any) -> Rule:
    listed = ", ".join(repr(a) for a in allowed)
    return lambda value, _known: None if value in allowed else f"must be one of {listed}, not {value!r}"


def between(low: float, high: float | None = None, *, open_ends: bool = False) -> Rule:
    """low <= value <= high (high None: no upper bound); `open_ends` excludes both bounds."""
    if high is None:
        allowed = f"above {low}" if open_ends else f"at least {low}"
    else:
        allowed = f"between {low} and {high}, both excluded" if open_ends else f"from {low} to {high}"

    def rule(value, _known) -> str | None:
        if open_ends:
            ok = value > low and (high is None or value < high)
        else:
            ok = value >= low and (high is None or value <= high)
        return None if ok else f"must be {allowed}, not {value!r}"

    return rule


def not_blank(value, _known) -> str | None:
    return None if value.strip() else "must not be blank"


def json_text(*, obj: bool = False) -> Rule:
    def rule(value, _known) -> str | None:
        try:
            parsed = json.loads(value)
        except ValueError:
            return f"must be JSON text, not {value[:40]!r}"
        return "must be a JSON object" if obj and not isinstance(parsed, dict) else None

    return rule


def iso_day(value, _known) -> str | None:
    return None if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else f"must be a day as YYYY-MM-DD, not {value!r}"


def known(kind: str, noun: str) -> Rule:
    def rule(value, ids: Known) -> str | None:
        allowed = getattr(ids, kind)
        if allowed is None or value in allowed:
            return None
        return f"is {value!r}, which names no {noun} in the current course"

    return rule


def run_status(value, ids: Known) -> str | None:
    if ids.run_statuses is None or value in ids.run_statuses:
        return None
    return f"must be one of {', '.join(ids.run_statuses)}, not {value!r}"


ACTIVITY_KINDS = ("lesson_opened", "lesson_completed", "review", "lab_started", "mock_finished", "study_time")
REVIEW_MODES = ("today", "drill", "cram", "mock")  # pathway.quiz.scheduling.MODES (db does not import quiz)

# table -> column -> rules, applied in order to a value that is not None.
RULES: dict[str, dict[str, tuple[Rule, ...]]] = {
    "learner": {
        "id": (one_of(1),),  # one learner per home
        "theme": (not_blank,),
        "language": (one_of("en", "zh"),),
        "daily_new_limit": (between(0, 1000),),
        "daily_review_limit": (between(0, 10000),),
        "desired_retention": (between(0, 1, open_ends=True),),  # an FSRS recall probability
        "daily_goal_minutes": (between(0, 24 * 60),),
        "last_lesson_id": (known("lessons", "lesson"),),
    },
    "lessonprogress": {
        "lesson_id": (known("lessons", "lesson"),),
        "status": (one_of("started", "completed"),),
        "scroll_y": (between(0),),
    },
    "activity": {
        "id": (between(1),),
        "day": (iso_day,),
        "kind": (one_of(*ACTIVITY_KINDS),),
        "detail": (json_text(),),
    },
    "card": {
        "question_id": (known("questions", "question"),),
        "state": (one_of(1, 2, 3),),  # fsrs.State: learning, review, relearning
        "step": (between(0),),
        "stability": (between(0, open_ends=True),),
        "difficulty": (between(1, 10),),  # FSRS keeps difficulty in [1, 10]
    },
    "mockinterview": {
        "id": (between(1),),
        "settings": (json_text(obj=True),),
        "report": (json_text(obj=True),),
    },
    "reviewlog": {
        "id": (between(1),),
        "question_id": (known("questions", "question"),),
        "rating": (one_of(1, 2, 3, 4),),  # Again, Hard, Good, Easy
        "duration_ms": (between(0),),
        "mode": (one_of(*REVIEW_MODES),),
        "answer": (json_text(),),
    },
    "run": {
        "id": (between(1),),
        "lab": (known("labs", "lab"),),
        "config": (json_text(obj=True),),
        "status": (run_status,),
        "step": (between(0),),
        "total_steps": (between(0),),
        "final_metrics": (json_text(obj=True),),
    },
    "metric": {
        "id": (between(1),),
        "name": (not_blank,),
        "rank": (between(0),),
    },
}

# Activities whose item_id names content, by kind.
ACTIVITY_ITEMS = {"lesson_opened": ("lessons", "lesson"), "lesson_completed": ("lessons", "lesson"), "review": ("questions", "question")}


def check_row(table: str, row: dict[str, Any], ids: Known) -> tuple[str, str] | None:
    """(column, problem) for the first value in `row` that its rules refuse, or None."""
    for column, rules in RULES.get(table, {}).items():
        value = row.get(column)
        if value is None:
            continue
        for rule in rules:
            problem = rule(value, ids)
            if problem:
                return column, problem
    if table == "activity" and row.get("item_id") is not None and row.get("kind") in ACTIVITY_ITEMS:
        problem = known(*ACTIVITY_ITEMS[row["kind"]])(row["item_id"], ids)
        if problem:
            return "item_id", problem
    return None
