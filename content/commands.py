"""`pathway content check [--json]`: validate the course and print what it holds."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pathway.content.loader import Course, load_course


def add_parsers(sub: argparse._SubParsersAction) -> None:
    content = sub.add_parser("content", help="check the course content")
    content_sub = content.add_subparsers(dest="content_command", metavar="ACTION", required=True)
    check = content_sub.add_parser("check", help="validate every content file and print coverage")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(handler=run_check)


def summary(course: Course) -> dict:
    weeks = course.manifest.weeks if course.manifest else []
    return {
        "content_dir": str(course.root),
        "weeks": len(weeks),
        "lessons": len(course.lessons),
        "code_blocks": sum(len(lesson.code_blocks) for lesson in course.lessons),
        "lessons_per_week": {str(w.week): len(course.lessons_in_week(w.week)) for w in weeks},
        "problems": [problem.model_dump() for problem in course.problems],
    }


def run_check(args: argparse.Namespace) -> int:
    course = load_course(Path(args.content_dir) if args.content_dir else None)
    report = summary(course)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(report, Console())
    return 1 if course.problems else 0


def print_report(report: dict, console: Console) -> None:
    console.print(
        f"[bold]{report['lessons']}[/] lessons in [bold]{report['weeks']}[/] weeks, "
        f"{report['code_blocks']} code blocks  ({report['content_dir']})"
    )
    table = Table(title="Lessons per week", show_header=True, header_style="bold")
    weeks = list(report["lessons_per_week"].items())
    for week, _ in weeks:
        table.add_column(week, justify="right")
    table.add_row(*(str(count) for _, count in weeks))
    console.print(table)
    if report["problems"]:
        console.print(f"[bold red]{len(report['problems'])} problem(s):[/]")
        for problem in report["problems"]:
            field = f" [{problem['field']}]" if problem["field"] else ""
            console.print(f"  {problem['file']}{field}: {problem['reason']}", markup=False, highlight=False)
    else:
        console.print("[green]No problems.[/]")
