"""Screenshots at 80×24 of the Quiz chooser and of a question card of each type.

Update with `pytest tests/test_quiz_snapshots.py --snapshot-update`, only after looking at them.
"""

from __future__ import annotations

from pathlib import Path
from random import Random

import pytest


from pathway.tui.app import PathwayApp, make_app
from tui_helpers import open_mode

CONTENT = Path(__file__).parent / "fixtures" / "quiz_content"
# Drill shows the fixture bank in file order: this many skips reach each type.
SKIPS = {"single": 0, "multi": 1, "numeric": 2, "order": 3, "recall": 4, "code": 5, "design": 6}



def quiz_app(home: Path) -> PathwayApp:
    app = make_app(home=home, content_dir=CONTENT)  # the real app, its real Quiz and Progress screens
    app.choice_rng = Random(0)  # choices come shuffled: the same order in every run
    return app


def test_chooser(snap_compare, home: Path) -> None:
    async def open_quiz(pilot) -> None:
        await open_mode(pilot, "f4")

    assert snap_compare(quiz_app(home), terminal_size=(80, 24), run_before=open_quiz)


@pytest.mark.parametrize("kind", list(SKIPS))
def test_question_card(snap_compare, home: Path, kind: str) -> None:
    async def show(pilot) -> None:
        await open_mode(pilot, "f4", settle=0.2)
        await pilot.press("down", "enter")  # Drill
        await pilot.pause(0.2)
        for _ in range(SKIPS[kind]):
            pilot.app.screen.card.focus()
            await pilot.press("n")
            await pilot.pause(0.1)
        card = pilot.app.screen.card
        assert card.question.type == kind
        for widget in card.query("TextArea, Input"):
            widget.cursor_blink = False  # a blinking cursor makes screenshots flaky
        if kind in ("single", "multi"):
            await pilot.press("1")
        await pilot.pause(0.3)

    assert snap_compare(quiz_app(home), terminal_size=(80, 24), run_before=show)


async def drill_to(pilot, kind: str) -> None:
    """Open a drill and skip to the first question of this type, cursors steady."""
    await open_mode(pilot, "f4", settle=0.2)
    await pilot.press("down", "enter")  # Drill
    await pilot.pause(0.2)
    for _ in range(SKIPS[kind]):
        pilot.app.screen.card.focus()
        await pilot.press("n")
        await pilot.pause(0.1)
    for widget in pilot.app.screen.card.query("TextArea, Input"):
        widget.cursor_blink = False


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_code_editor_takes_the_free_height(snap_compare, home: Path, size: tuple[int, int]) -> None:
    async def show(pilot) -> None:
        await drill_to(pilot, "code")
        await pilot.press("i")  # in the editor: the card says so
        await pilot.pause(0.3)

    assert snap_compare(quiz_app(home), terminal_size=size, run_before=show)


def test_code_after_a_pass_keeps_the_learners_code(snap_compare, home: Path) -> None:
    async def show(pilot) -> None:
        await drill_to(pilot, "code")
        card = pilot.app.screen.card
        card.query_one("#q-code").text = card.question.solution.replace("top = max(xs)", "top = max(xs)  # mine")
        await pilot.press("ctrl+r")
        for _ in range(300):
            await pilot.pause(0.1)
            if card.phase == "feedback":
                break
        card.suggested = 4  # the pace-based suggestion depends on how long the run took
        card.draw_rating()
        await pilot.pause(0.3)

    assert snap_compare(quiz_app(home), terminal_size=(80, 24), run_before=show)


def test_single_after_a_wrong_choice(snap_compare, home: Path) -> None:
    async def show(pilot) -> None:
        await drill_to(pilot, "single")
        card = pilot.app.screen.card
        wrong = next(i for i, choice in enumerate(card.question.choices) if not choice.correct)
        await pilot.press(str(card.choice_order.index(wrong) + 1), "enter")
        await pilot.pause(0.3)

    assert snap_compare(quiz_app(home), terminal_size=(80, 24), run_before=show)


def test_recall_after_reveal(snap_compare, home: Path) -> None:
    async def show(pilot) -> None:
        await drill_to(pilot, "recall")
        await pilot.press("space")
        await pilot.pause(0.3)

    assert snap_compare(quiz_app(home), terminal_size=(80, 24), run_before=show)
