"""A portfolio from the learner's own work: chosen lab runs and what was learned, as Markdown and one HTML page.

    runs, note = choose_runs(engine, run_ids=None)     # --runs, else the runs marked with p, else the latest good ones
    files = write_portfolio(engine, course, runs, Path("portfolio"))

Every number comes from the database as it is, formatted with `number()`; the HTML
is the same Markdown rendered, with each chart's SVG inlined, so the page travels as
one file. Torch-free: it reads what the runs recorded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from markdown_it import MarkdownIt
from sqlmodel import Session, select

from pathway.content.loader import Course
from pathway.db import progress
from pathway.db.models import Metric, Run
from pathway.durations import format_duration
from pathway.errors import PathwayError
from pathway.files import atomic_write
from pathway.labs import catalog
from pathway.labs.engine import queries
from pathway.svg_chart import line_chart

SYSTEM_METRIC = re.compile(r"^(sys|gpu\d+)/")
FINISHED = ("succeeded", "check failed", "failed", "stopped", "diverged", "interrupted")


def number(value: float) -> str:
    """How the portfolio writes a metric: six significant digits, the database's value to that precision."""
    return f"{value:.6g}"


@dataclass
class Check:
    metric: str
    value: float | None
    needs: str  # "> 0.2" or "< 1.6"
    passed: bool


@dataclass
class RunPage:
    run: Run
    title: str
    description: str
    settings: dict
    final: dict[str, float]
    checks: list[Check]
    curves: dict[str, dict[str, list[tuple[float, float]]]]  # chart title -> series -> points


def choose_runs(engine, run_ids: list[int] | None) -> tuple[list[Run], str]:
    """The runs to show and a sentence saying how they were chosen."""
    if run_ids:
        return [queries.get_run(engine, run_id) for run_id in run_ids], "the runs named with --runs"
    runs = queries.list_runs(engine)
    marked = [run for run in runs if run.portfolio]
    if marked:
        return sorted(marked, key=lambda run: run.id), "the runs marked with p on the Labs screen"
    latest: dict[str, Run] = {}
    for run in sorted(runs, key=lambda run: run.id):
        if run.status == "succeeded":
            latest[run.lab] = run
    if not latest:
        raise PathwayError(
            "No lab run to put in a portfolio yet: finish one (`pathway lab run mlp-digits` takes seconds), "
            "mark runs with p on the Labs screen, or name them with --runs 3,5."
        )
    return sorted(latest.values(), key=lambda run: run.id), "no run is marked (p on the Labs screen), so the latest succeeded run of each lab"


def run_checks(run: Run, final: dict[str, float]) -> list[Check]:
    spec = catalog.get_lab(run.lab)
    try:
        config = spec.config_cls(**json.loads(run.config or "{}"))
    except TypeError:  # a run that never started holds only its overrides
        config = catalog.build_config(run.lab, json.loads(run.config or "{}"), cuda=str(run.device or "").startswith("cuda"))
    checks = []
    for goal in spec.goals_for(config):
        value = final.get(goal.metric)
        if value is None and not goal.required:
            continue
        needs = f"> {number(goal.above)}" if goal.above is not None else f"< {number(goal.below)}"
        checks.append(Check(goal.metric, value, needs, goal.missed(final) is None))
    return checks


def run_curves(engine, run: Run) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Loss series on one chart; every other learning metric on its own (their scales differ)."""
    with Session(engine) as session:
        rows = session.exec(
            select(Metric.name, Metric.step, Metric.value).where(Metric.run_id == run.id, Metric.rank == 0).order_by(Metric.step, Metric.id)
        ).all()
    series: dict[str, list[tuple[float, float]]] = {}
    for name, step, value in rows:
        if not SYSTEM_METRIC.match(name):
            series.setdefault(name, []).append((float(step), float(value)))
    series = {name: points for name, points in series.items() if len(points) >= 2}
    charts: dict[str, dict[str, list[tuple[float, float]]]] = {}
    losses = {name: points for name, points in series.items() if "loss" in name}
    if losses:
        charts["loss"] = losses
    for name, points in series.items():
        if name not in losses:
            charts[name] = {name: points}
    return charts


def gather(engine, runs: list[Run]) -> list[RunPage]:
    pages = []
    for run in runs:
        spec = catalog.get_lab(run.lab)
        final = queries.final_metrics(run)
        pages.append(RunPage(
            run=run, title=spec.title, description=spec.description, settings=json.loads(run.config or "{}"),
            final=final, checks=run_checks(run, final), curves=run_curves(engine, run),
        ))
    return pages


def chart_file(run: Run, chart: str) -> str:
    return f"run-{run.id}-{re.sub(r'[^a-z0-9]+', '-', chart.lower()).strip('-')}.svg"


def cell(value) -> str:
    text = number(value) if isinstance(value, float) else str(value)
    return text.replace("|", "\\|")


def learning_section(engine, course: Course) -> list[str]:
    from pathway.quiz import stats

    done = {lesson_id for lesson_id, row in progress.lesson_progress(engine).items() if row.status == "completed"}
    lessons = [lesson for lesson in course.lessons if lesson.id in done]
    lines = ["## What I studied", "", f"Lessons done: {len(lessons)} of {len(course.lessons)}.", ""]
    for lesson in lessons:
        lines.append(f"- W{lesson.meta.week:02d} {lesson.meta.title.en}")
    mastery = stats.topic_mastery(engine, course.questions)
    lines += ["", "Interview-question mastery by topic (FSRS recall and recent accuracy, 0-1):", "",
              "| topic | questions | started | mastery |", "|---|---|---|---|"]
    for topic_id, m in sorted(mastery.items()):
        topic = course.topic(topic_id)
        name = topic.title.en if topic else f"topic {topic_id}"
        lines.append(f"| {cell(name)} | {m.questions} | {m.seen} | {number(m.mastery)} |")
    return lines + [""]


def run_section(page: RunPage) -> list[str]:
    run = page.run
    seconds = queries.running_seconds(run)
    when = run.created_at.strftime("%Y-%m-%d") if run.created_at else "-"
    lines = [
        f"## Run {run.id} · {page.title}", "",
        page.description, "",
        f"Lab `{run.lab}`, {run.status} on {run.device or 'cpu'}, {when}, "
        f"{format_duration(seconds)}, {run.step} steps.", "",
        "| setting | value |", "|---|---|",
        *(f"| {cell(key)} | {cell(value)} |" for key, value in page.settings.items()), "",
    ]
    if page.final:
        lines += ["| final metric | value |", "|---|---|", *(f"| {cell(k)} | {number(v)} |" for k, v in page.final.items()), ""]
    if page.checks:
        lines += ["| check | value | needs | result |", "|---|---|---|---|"]
        for check in page.checks:
            value = number(check.value) if check.value is not None else "not reported"
            lines.append(f"| {cell(check.metric)} | {value} | {check.needs} | {'pass' if check.passed else 'FAIL'} |")
        lines.append("")
    if run.error and run.status != "succeeded":
        lines += [f"> {run.error.splitlines()[0]}", ""]
    for chart in page.curves:
        lines += [f"![{chart}]({chart_file(run, chart)})", ""]
    return lines


STYLE = """body{font-family:-apple-system,"Segoe UI","PingFang SC",sans-serif;max-width:760px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}
code{background:#f4f4f4;padding:0 3px}blockquote{color:#8a1c1c;border-left:3px solid #c33;margin:0;padding-left:1em}"""


def write_portfolio(engine, course: Course, runs: list[Run], folder: Path, *, how_chosen: str = "") -> list[Path]:
    """portfolio.md, portfolio.html (self-contained) and one SVG per chart; returns the files written."""
    pages = gather(engine, runs)
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = ["# My path from big data to AI/LLM engineering", "",
             f"Generated by pathway on {stamp} from {len(pages)} lab run{'s' if len(pages) != 1 else ''}"
             + (f" ({how_chosen})." if how_chosen else "."), ""]
    lines += learning_section(engine, course)
    charts: dict[str, str] = {}
    for page in pages:
        lines += run_section(page)
        for chart, series in page.curves.items():
            charts[chart_file(page.run, chart)] = line_chart(series, title=f"run {page.run.id} · {chart}")
    markdown = "\n".join(lines)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, svg in charts.items():
            atomic_write(folder / name, svg.encode())
            written.append(folder / name)
        atomic_write(folder / "portfolio.md", markdown.encode())
        body = MarkdownIt("commonmark").enable("table").render(markdown)
        for name, svg in charts.items():  # inline each chart: the page is one file
            body = re.sub(rf'<img src="{re.escape(name)}" alt="[^"]*"\s*/?>', lambda _: svg, body)
        page_html = f"<!DOCTYPE html><html><head><meta charset=utf-8><title>Portfolio</title><style>{STYLE}</style></head><body>{body}</body></html>"
        atomic_write(folder / "portfolio.html", page_html.encode())
    except OSError as exc:
        raise PathwayError(f"Cannot write the portfolio to {folder}: {exc.strerror or exc}. Choose a folder you can write to.") from None
    return written + [folder / "portfolio.md", folder / "portfolio.html"]


__all__ = ["choose_runs", "write_portfolio", "number"]
