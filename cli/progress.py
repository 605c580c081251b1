"""`pathway stats [--json]`, `pathway export FILE`, `pathway import FILE`: progress, headless."""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path

from pathway.content.loader import load_course
from pathway.db import progress
from pathway.errors import PathwayError
from pathway.db.engine import open_database
from pathway.home import resolve_home
from pathway.pace import compute_pace
from pathway.words import count
from pathway.i18n import _, ngettext


def add_parsers(sub: argparse._SubParsersAction) -> None:
    stats = sub.add_parser("stats", help=_("print progress: lessons done, streak, activity"))
    stats.add_argument("--json", action="store_true", help=_("machine-readable output"))
    stats.set_defaults(handler=run_stats)
    export = sub.add_parser(
        "export", help=_("write all progress to a JSON file, or the question bank to an Anki deck (--anki)")
    )
    export.add_argument("file", nargs="?", help=_("where to write the progress (JSON)"))
    export.add_argument("--anki", metavar="FILE.apkg", help=_("write the question bank as an Anki deck instead"))
    export.add_argument("--lang", choices=["en", "zh", "both"], default="both", help=_("card languages (--anki; default both)"))
    export.add_argument("--topics", help=_("--anki: only these topics, ids or slugs, comma-separated (e.g. 9,inference)"))
    export.add_argument("--weeks", help=_("--anki: only these weeks, e.g. 13-16,20"))
    export.set_defaults(handler=run_export)
    plan = sub.add_parser("plan", help=_("the 24-week plan: are you on track? (--start, --hours set it)"))
    plan.add_argument("--start", help=_("the day the plan began, YYYY-MM-DD (default: the day this home was made)"))
    plan.add_argument("--hours", help=_("study hours a week you aim at (the plan asks 15-20)"))
    plan.add_argument("--json", action="store_true", help=_("machine-readable output"))
    plan.set_defaults(handler=run_plan)
    load = sub.add_parser("import", help=_("load progress from a file written by `pathway export`"))
    load.add_argument("file", help=_("the JSON file"))
    load.add_argument("--replace", action="store_true", help=_("overwrite the progress this home already holds"))
    load.set_defaults(handler=run_import)


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
        **quiz_stats(engine, course),
        "pace": compute_pace(engine, course, today).to_dict(),
    }


def quiz_stats(engine, course) -> dict:
    """Question-bank progress: what is scheduled, due, answered, and the review streak."""
    from pathway.quiz import stats as qs
    from pathway.quiz import scheduling as reviews

    bank = {question.id for question in course.questions}
    scheduled = set(reviews.cards(engine)) & bank
    mastery = qs.topic_mastery(engine, course.questions)
    return {
        "questions_total": len(bank),
        "questions_scheduled": len(scheduled),
        "questions_due": reviews.due_count(engine, bank),
        "reviews_total": sum(qs.review_heatmap(engine, days=3650).values()),
        "review_streak_days": qs.review_streak(engine),
        "mastery_by_topic": {str(topic): round(m.mastery, 3) for topic, m in mastery.items()},
    }


def run_stats(args: argparse.Namespace) -> int:
    engine = open_database(resolve_home(args.home), allow_read_only=True)  # only reads
    stats = collect_stats(engine, load_course(args.content_dir))
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        days = lambda n: ngettext("{n} day", "{n} days", n).format(n=n)  # noqa: E731
        actions = ngettext("{n} action", "{n} actions", stats["actions_today"]).format(n=stats["actions_today"])
        print(
            _("Lessons: {done} / {total} done").format(done=stats["lessons_completed"], total=stats["lessons_total"]) + "\n"
            + _("Streak: {days}; {actions} today").format(days=days(stats["streak_days"]), actions=actions) + "\n"
            + _("Last lesson: {lesson}").format(lesson=stats["last_lesson"] or "-") + "\n"
            + _("Questions: {started} / {total} started, {due} due; review streak {days}").format(
                started=stats["questions_scheduled"], total=stats["questions_total"], due=stats["questions_due"],
                days=days(stats["review_streak_days"]),
            )
            + "\n" + pace_lines(stats["pace"])
        )
    return 0


def pace_lines(pace: dict) -> str:
    week = _("week {n} of 24").format(n=pace["calendar_week"]) if pace["calendar_week"] <= 24 else _("24 weeks over")
    state = pace["state"]  # one of the N_() marked states on Home
    return _("Pace: {week} since {start}; progress at week {reached}: {state}; {hours} of {goal} h this week").format(
        week=week, start=pace["start"], reached=pace["progress_week"], state=_(state),
        hours=f"{pace['hours_this_week']:.1f}", goal=pace["weekly_hours"],
    ) + "\n" + pace["advice"]


def run_plan(args: argparse.Namespace) -> int:
    from pathway.pace import parse_hours, parse_start

    changes = {}
    if args.start is not None:
        changes["plan_start"] = parse_start(args.start)
    if args.hours is not None:
        changes["weekly_hours"] = parse_hours(args.hours)
    engine = open_database(resolve_home(args.home), allow_read_only=not changes)
    if changes:
        progress.update_learner(engine, **changes)
    pace = compute_pace(engine, load_course(args.content_dir)).to_dict()
    print(json.dumps(pace, indent=2) if args.json else pace_lines(pace))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from pathway.db.transfer import export_progress

    if args.anki:
        return run_anki_export(args)
    if not args.file:
        raise PathwayError("Name the file to write: `pathway export progress.json`, or `pathway export --anki deck.apkg` for the question bank.")
    engine = open_database(resolve_home(args.home), allow_read_only=True)  # only reads
    counts = export_progress(engine, Path(args.file))
    print(_("Wrote {file}: ").format(file=args.file) + ", ".join(f"{n} {name}" for name, n in counts.items()))
    return 0


def run_anki_export(args: argparse.Namespace) -> int:
    from pathway.content.anki import build_deck, write_package

    course = load_course(args.content_dir)
    languages = ("en", "zh") if args.lang == "both" else (args.lang,)
    deck = build_deck(course, languages=languages, topics=parse_topics(args.topics, course), weeks=parse_weeks(args.weeks))
    write_package(deck, Path(args.anki))
    cards = deck.notes * len(languages)
    print(f"Wrote {args.anki}: {count(deck.notes, 'note')}, {count(cards, 'card')} ({args.lang}). "
          "Import it in Anki (File > Import); importing a newer export updates these notes.")
    return 0


def parse_topics(text: str | None, course) -> set[int] | None:
    """'9,inference' -> {9, 11}; a name that is no topic is a PathwayError listing them."""
    if not text:
        return None
    by_name = {str(topic.id): topic.id for topic in course.topics} | {topic.slug: topic.id for topic in course.topics}
    chosen = set()
    for word in filter(None, (w.strip() for w in text.split(","))):
        if word not in by_name:
            names = ", ".join(f"{topic.id} {topic.slug}" for topic in course.topics)
            raise PathwayError(f"--topics: no topic {word!r}. Topics: {names}.")
        chosen.add(by_name[word])
    return chosen


def parse_weeks(text: str | None) -> set[int] | None:
    """'13-16,20' -> {13, 14, 15, 16, 20}."""
    if not text:
        return None
    weeks: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise PathwayError(f"--weeks: {part!r} is not a week or a range like 13-16.") from None
        if not 1 <= low <= high <= 24:
            raise PathwayError(f"--weeks: {part!r} is outside weeks 1-24.")
        weeks.update(range(low, high + 1))
    return weeks


def known_ids(content_dir):
    """The lesson, question and lab ids (and run statuses) an imported row may name: a transfer_rules.Known."""
    from pathway.db.transfer_rules import Known
    from pathway.labs import catalog
    from pathway.labs.engine import status

    course = load_course(content_dir)
    return Known(
        lessons=frozenset(lesson.id for lesson in course.lessons),
        questions=frozenset(question.id for question in course.questions),
        labs=frozenset(lab.id for lab in catalog.all_labs()),
        run_statuses=tuple(status.ALL),
    )


def run_import(args: argparse.Namespace) -> int:
    from pathway.db.engine import backup_file, database_url, sqlite_path
    from pathway.db.transfer import has_progress, import_progress, parse_progress

    home = resolve_home(args.home)
    engine = open_database(home)
    path = Path(args.file)
    known = known_ids(args.content_dir)
    parse_progress(path, known)  # a bad file stops here, before any backup or change
    if args.replace and has_progress(engine):
        db_file = sqlite_path(database_url(home))
        if db_file is not None:
            print(_("Backed up the current progress to {file}").format(file=backup_file(db_file, "import")))
    counts = import_progress(engine, path, replace=args.replace, known=known, runs_root=home / "runs")
    print(_("Imported {file}: ").format(file=args.file) + ", ".join(f"{n} {name}" for name, n in counts.items()))
    if counts.get("run"):
        print(
            _(
                "Lab runs came without their files (logs, checkpoints): copy each run's folder from the old "
                "home's runs/ to {runs} to keep them."
            ).format(runs=home / "runs")
        )
    return 0
