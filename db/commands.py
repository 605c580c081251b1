"""`pathway stats [--json]`: the learner's progress, headless."""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta

from pathway.content.loader import load_course
from pathway.db import progress
from pathway.db.engine import open_database
from pathway.home import resolve_home


def add_parsers(sub: argparse._SubParsersAction) -> None:
    stats = sub.add_parser("stats", help="print progress: lessons done, streak, activity")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.set_defaults(handler=run_stats)


def collect_stats(engine, course) -> dict:
    rows = progress.lesson_progress(engine)
    done = {lesson_id for lesson_id, row in rows.items() if row.status == "completed"}
    today = date.today()
    days = progress.activity_by_day(engine, today - timedelta(days=365))
    learner = progress.get_learner(engine)
    return {
        "lessons_total": len(course.lessons),
        "lessons_completed": len(done & {lesson.id for lesson in course.lessons}),
        "last_lesson": learner.last_lesson_id,
        "streak_days": progress.streak(set(days), today),
        "actions_today": days.get(today.isoformat(), 0),
        "active_days_last_year": len(days),
    }


def run_stats(args: argparse.Namespace) -> int:
    engine = open_database(resolve_home(args.home))
    stats = collect_stats(engine, load_course(args.content_dir))
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(
            f"Lessons: {stats['lessons_completed']} / {stats['lessons_total']} done\n"
            f"Streak: {stats['streak_days']} day(s); {stats['actions_today']} action(s) today\n"
            f"Last lesson: {stats['last_lesson'] or '-'}"
        )
    return 0
