"""The interface in Chinese at 80×24 and 120×40: Home, Learn, a quiz question, the run view (pytest-textual-snapshot).

CJK characters take two cells: these catch a label cut in the middle of a character, a footer
that overflows, a header that wraps where it should not. The learner's saved language is Chinese
before the app starts, as after Ctrl+L in an earlier session.
Update with `pytest tests/test_i18n_snapshots.py --snapshot-update`, only after looking at them.
"""

from __future__ import annotations

from pathlib import Path
from random import Random

import pytest

from pathway.tui.app import make_app
from pathway.tui.screens.run_view import RunScreen
from test_tui_labs import add_run
from tui_helpers import open_mode, until, wait_ready

SIZES = [(80, 24), (120, 40)]
QUIZ_CONTENT = Path(__file__).parent / "fixtures" / "quiz_content"


def save_chinese(home: Path) -> None:
    from pathway.db import progress
    from pathway.db.engine import open_database

    engine = open_database(home)
    progress.update_learner(engine, language="zh")
    engine.dispose()


size_ids = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")


@size_ids
def test_home_in_chinese(snap_compare, home: Path, content_dir: Path, size) -> None:
    save_chinese(home)

    async def ready(pilot) -> None:
        await wait_ready(pilot)
        await pilot.pause(0.2)

    assert snap_compare(make_app(home=home, content_dir=content_dir), terminal_size=size, run_before=ready)


@size_ids
def test_learn_in_chinese(snap_compare, home: Path, content_dir: Path, size) -> None:
    save_chinese(home)

    async def open_lesson(pilot) -> None:
        await open_mode(pilot, "f3", settle=0.5)

    assert snap_compare(make_app(home=home, content_dir=content_dir), terminal_size=size, run_before=open_lesson)


@size_ids
def test_quiz_question_in_chinese(snap_compare, home: Path, size) -> None:
    save_chinese(home)

    async def show(pilot) -> None:
        await open_mode(pilot, "f4", settle=0.2)
        await pilot.press("down", "enter")  # Drill: the first question of the fixture bank, a single choice
        await until(pilot, lambda: getattr(pilot.app.screen, "card", None) is not None, what="the question card")
        card = pilot.app.screen.card
        wrong = next(i for i, choice in enumerate(card.question.choices) if not choice.correct)
        await pilot.press(str(card.choice_order.index(wrong) + 1), "enter")  # a wrong answer: verdict, every why, ratings
        await until(pilot, lambda: pilot.app.screen.card.phase == "feedback", what="the feedback")
        await pilot.pause(0.3)

    app = make_app(home=home, content_dir=QUIZ_CONTENT)
    app.choice_rng = Random(0)  # choices come shuffled: the same order in every run
    assert snap_compare(app, terminal_size=size, run_before=show)


@size_ids
def test_run_view_in_chinese(snap_compare, home: Path, content_dir: Path, monkeypatch, size) -> None:
    monkeypatch.setenv("PATHWAY_GPU", "fake:1")
    run_id = add_run(home, steps=300, gpu=True)
    save_chinese(home)

    async def show(pilot) -> None:
        await wait_ready(pilot)
        pilot.app.push_screen(RunScreen([run_id]))
        await pilot.pause(1.0)

    assert snap_compare(make_app(home=home, content_dir=content_dir), terminal_size=size, run_before=show)
