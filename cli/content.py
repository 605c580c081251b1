"""`pathway content check [--json] [--fast]`: validate the course and print what it holds."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pathway.content.bank_checks import BankReport, check_bank
from pathway.content.clusters import MIN_PER_CLUSTER
from pathway.content.loader import Course, load_course
from pathway.content.questions import DIFFICULTIES, TYPES
from pathway.words import count

TYPE_HEADERS = {"single": "single", "multi": "multi", "numeric": "num", "recall": "recall", "order": "order", "code": "code", "design": "design"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    content = sub.add_parser("content", help="check the course content")
    content_sub = content.add_subparsers(dest="content_command", metavar="ACTION", required=True)
    check = content_sub.add_parser("check", help="validate every content file and print coverage")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--fast", action="store_true", help="do not run the code exercises (derivations still run)")
    check.set_defaults(handler=run_check)


def summary(course: Course, bank: BankReport | None = None) -> dict:
    weeks = course.manifest.weeks if course.manifest else []
    problems = list(course.problems) + (bank.errors if bank else [])
    return {
        "content_dir": str(course.root),
        "weeks": len(weeks),
        "lessons": len(course.lessons),
        "code_blocks": sum(len(lesson.code_blocks) for lesson in course.lessons),
        "lessons_per_week": {str(w.week): len(course.lessons_in_week(w.week)) for w in weeks},
        "questions": bank.coverage if bank else {},
        "ran_code": bank.ran_code if bank else False,
        "check_seconds": round(bank.seconds, 2) if bank else 0.0,
        "warnings": [problem.model_dump() for problem in bank.warnings] if bank else [],
        "problems": [problem.model_dump() for problem in problems],
    }


def run_check(args: argparse.Namespace) -> int:
    course = load_course(Path(args.content_dir) if args.content_dir else None)
    bank = check_bank(course, run_code=not getattr(args, "fast", False))
    report = summary(course, bank)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(report, Console())
    return 1 if report["problems"] else 0


def print_report(report: dict, console: Console) -> None:
    questions = report["questions"]
    console.print(
        f"[bold]{report['lessons']}[/] lessons in [bold]{report['weeks']}[/] weeks, "
        f"{report['code_blocks']} code blocks, [bold]{questions.get('questions', 0)}[/] questions  ({report['content_dir']})"
    )
    weeks = list(report["lessons_per_week"])
    if weeks:
        per_week = questions.get("questions_per_week", {})
        filled = [w for w in weeks if report["lessons_per_week"][w] or per_week.get(w, 0)]
        cells = [f"w{w}: {report['lessons_per_week'][w]}/{per_week.get(w, 0)}" for w in filled]
        empty = len(weeks) - len(filled)
        tail = f"  ({empty} other weeks: none yet)" if empty else ""
        console.print("[bold]Lessons/questions per week[/]  " + "  ".join(cells) + tail, highlight=False)
    if questions:
        console.print(coverage_table(questions))
        print_lesson_counts(questions, console)
        mix = questions["by_difficulty"]
        total = max(1, questions["questions"])
        positions = ", ".join(f"{k}: {v}" for k, v in questions["correct_positions"].items()) or "-"
        console.print(
            "Difficulty: " + ", ".join(f"{level} {mix[level]} ({mix[level] / total:.0%})" for level in DIFFICULTIES)
            + f"   correct position (single): {positions}"
            + f"   spot-the-bug: {questions['tags']['spot-the-bug']}, bridge: {questions['tags']['bridge']}",
            highlight=False,
        )
        for lang, c in questions.get("length_cues", {}).items():
            console.print(
                f"Length cues ({lang}): key strictly longest in {c['key_longest_share']:.0%} of {c['single']} single-choice "
                f"(gate 30%), median key/distractor {c['single_ratio']:.2f} (gate 1.15), multi {c['multi_ratio']:.2f} (gate 1.20)",
                highlight=False,
            )
        if "clusters" in questions:
            counts = ", ".join(f"{name} {n}" for name, n in questions["clusters"].items())
            console.print(f"Interview clusters (floor {MIN_PER_CLUSTER} each): {counts}", highlight=False)
    if not report["ran_code"]:
        console.print("[yellow]Code exercises were not run (--fast).[/]")
    for warning in report["warnings"]:
        field = f" [{warning['field']}]" if warning["field"] else ""
        console.print("[yellow]warning[/] " + escape(f"{warning['file']}{field}: {warning['reason']}"), highlight=False)
    if report["problems"]:
        console.print(f"[bold red]{count(len(report['problems']), 'problem')}:[/]")
        for problem in report["problems"]:
            field = f" [{problem['field']}]" if problem["field"] else ""
            console.print(f"  {problem['file']}{field}: {problem['reason']}", markup=False, highlight=False)
    else:
        console.print(f"[green]No problems.[/] (checked in {report['check_seconds']:.1f} s)")


def coverage_table(questions: dict) -> Table:
    """Topic x type, each cell "E/M/H" counts; totals against the topic's target."""
    table = Table(
        title="Questions by topic x type (cells: E/M/H)", header_style="bold", box=None, padding=(0, 1)
    )
    table.add_column("#", justify="right")
    table.add_column("topic", no_wrap=True, max_width=14, overflow="ellipsis")
    for kind in TYPES:
        table.add_column(TYPE_HEADERS[kind], justify="center")
    table.add_column("total", justify="right")
    matrix = questions["matrix"]
    column_totals = {kind: {level: 0 for level in DIFFICULTIES} for kind in TYPES}
    for topic, by_type in matrix.items():
        cells = []
        for kind in TYPES:
            counts = by_type[kind]
            for level in DIFFICULTIES:
                column_totals[kind][level] += counts[level]
            cells.append(_cell(counts))
        total = sum(sum(counts.values()) for counts in by_type.values())
        target = questions["targets"].get(topic)
        table.add_row(topic, questions["topic_slugs"].get(topic, ""), *cells, f"{total}/{target}" if target else str(total))
    table.add_row("", "[bold]all[/]", *(_cell(column_totals[kind]) for kind in TYPES), str(questions["questions"]))
    return table


def _cell(counts: dict[str, int]) -> str:
    return "/".join(str(counts[level]) for level in DIFFICULTIES) if any(counts.values()) else "·"


def print_lesson_counts(questions: dict, console: Console) -> None:
    per_lesson = questions["questions_per_lesson"]
    if not per_lesson:
        return
    line = ", ".join(f"{lesson_id} {count}" for lesson_id, count in per_lesson.items())
    console.print(f"Questions per lesson: {line}", highlight=False)
