"""`pathway portfolio`: from real tiny runs, the SVG charts parse and every number in the Markdown equals
the database; runs are chosen by --runs, by the p mark on the Labs screen, or the latest good ones."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlmodel import Session, select
from textual.widgets import DataTable

from pathway.cli import main
from pathway.content.loader import load_course
from pathway.db.engine import open_database
from pathway.db.models import Run
from pathway.portfolio import number
from pathway.quiz import scheduling, stats
from pathway.tui.app import make_app
from tui_helpers import until, wait_ready

pytestmark = pytest.mark.slow  # two real training runs


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory) -> Path:
    """A home with two real finished mlp-digits runs and one answered question."""
    home = tmp_path_factory.mktemp("portfolio-home")
    env = {**os.environ, "PATHWAY_GPU": "none"}
    for steps in (40, 60):
        subprocess.run([sys.executable, "-m", "pathway", "--home", str(home), "lab", "run", "mlp-digits",
                        "--set", f"steps={steps}", "--set", "eval_interval=20"], check=True, env=env, capture_output=True)
    engine = open_database(home)
    question = load_course().questions[0]
    scheduling.record_review(engine, question.id, rating=3, mode="today", correct=True, answer="0", duration_ms=4000)
    engine.dispose()
    return home


def tables(markdown: str) -> list[list[list[str]]]:
    """Every Markdown table as rows of cells (header and rule left out)."""
    found, current = [], []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            current.append([cell.strip() for cell in line.strip("|").split("|")])
        elif current:
            found.append([row for row in current[2:]])
            current = []
    return found


def runs_of(home: Path) -> list[Run]:
    engine = open_database(home)
    with Session(engine) as session:
        rows = session.exec(select(Run).order_by(Run.id)).all()
    engine.dispose()
    return rows


def test_every_number_in_the_markdown_is_the_database_s(trained_home: Path, tmp_path: Path) -> None:
    first, second = runs_of(trained_home)
    out = tmp_path / "pf"
    assert main(["--home", str(trained_home), "portfolio", str(out), "--runs", f"{first.id},{second.id}"]) == 0
    markdown = (out / "portfolio.md").read_text()
    found = tables(markdown)
    mastery_table, per_run = found[0], found[1:]

    engine = open_database(trained_home)
    course = load_course()
    mastery = stats.topic_mastery(engine, course.questions)
    engine.dispose()
    for row, (topic_id, m) in zip(mastery_table, sorted(mastery.items())):
        assert row[1:] == [str(m.questions), str(m.seen), number(m.mastery)]
    assert any(row[2] == "1" for row in mastery_table)  # the answered question's topic is started

    for run, (settings, finals, checks) in zip((first, second), zip(*[iter(per_run)] * 3)):
        config = json.loads(run.config)
        assert {row[0]: row[1] for row in settings} == {k: (number(v) if isinstance(v, float) else str(v)) for k, v in config.items()}
        final = json.loads(run.final_metrics)
        assert {row[0]: row[1] for row in finals} == {k: number(v) for k, v in final.items()}
        assert all(row[1] == number(final[row[0]]) and row[3] == "pass" for row in checks)
        assert f"## Run {run.id} · " in markdown and f"{run.step} steps" in markdown

    svgs = sorted(out.glob("*.svg"))
    assert {p.name for p in svgs} >= {f"run-{first.id}-loss.svg", f"run-{second.id}-eval-acc.svg"}
    for svg in svgs:
        root = ET.parse(svg).getroot()  # well-formed XML
        assert root.tag.endswith("svg") and root.findall(".//{http://www.w3.org/2000/svg}polyline")
    page = (out / "portfolio.html").read_text()
    assert page.count("<svg") == len(svgs) and "<img" not in page  # one self-contained file
    ET.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))


async def test_p_on_the_labs_screen_chooses_the_runs(trained_home: Path, tmp_path: Path) -> None:
    first, second = runs_of(trained_home)
    app = make_app(home=trained_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(pilot)
        await pilot.press("f5")
        await until(pilot, lambda: pilot.app.screen.query(DataTable) and pilot.app.screen.query_one(DataTable).row_count == 2,
                    what="the runs table")
        table = app.screen.query_one(DataTable)
        table.focus()
        table.move_cursor(row=[run.id for run in app.screen.runs].index(first.id))
        await pilot.press("p")
        await until(pilot, lambda: any(run.id == first.id and run.portfolio for run in app.screen.runs), what="the ★")
        assert f"{first.id}★" in str(table.get_row(str(first.id))[0])
    assert [run.portfolio for run in runs_of(trained_home)] == [True, False]
    out = tmp_path / "marked"
    assert main(["--home", str(trained_home), "portfolio", str(out)]) == 0
    markdown = (out / "portfolio.md").read_text()
    assert f"## Run {first.id} · " in markdown and f"## Run {second.id} · " not in markdown
    assert "marked with p on the Labs screen" in markdown


def test_no_runs_and_bad_ids_are_named(home: Path, tmp_path: Path, capsys) -> None:
    assert main(["--home", str(home), "portfolio", str(tmp_path / "x")]) == 2
    assert "No lab run to put in a portfolio yet" in capsys.readouterr().err
    assert main(["--home", str(home), "portfolio", "--runs", "3,x"]) == 2
    assert "--runs '3,x'" in capsys.readouterr().err
    assert main(["--home", str(home), "portfolio", "--runs", "99"]) == 2
    assert "There is no run 99" in capsys.readouterr().err
