"""Ctrl+L switches the whole interface and keeps the screen where it is; the choice is remembered."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from pathway.tui.app import make_app
from pathway.tui.widgets.lesson_tree import LessonTree
from tui_helpers import open_mode, until

QUIZ_CONTENT = Path(__file__).parent / "fixtures" / "quiz_content"


def footer_text(app) -> str:
    from textual.widgets._footer import FooterKey

    return " ".join(key.description for key in app.screen.query(FooterKey))


async def test_ctrl_l_keeps_the_lesson_tree_and_the_lesson_as_they_were(home: Path, content_dir: Path) -> None:
    app = make_app(home=home, content_dir=content_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_mode(pilot, "f3", settle=0.5)
        tree = app.screen.query_one(LessonTree)
        tree.focus()
        first_week = tree.root.children[0].children[0]
        first_week.collapse()  # a node the learner closed: the switch must not open it again
        await pilot.pause()
        cursor_before = tree.cursor_line
        lesson_before = app.screen.lesson_id
        labels_before = str(tree.root.children[0].label)

        await pilot.press("ctrl+l")
        await until(pilot, lambda: "继续" in footer_text(app) or "完成" in footer_text(app), what="the Chinese footer")

        assert not first_week.is_expanded
        assert tree.cursor_line == cursor_before
        assert app.screen.lesson_id == lesson_before
        assert str(tree.root.children[0].label) != labels_before  # relabelled in place, in Chinese
        header = str(app.screen.query_one("#lesson-header", Static).render())
        assert "分钟" in header and "min" not in header
        assert "学习" in str(app.screen.query_one("#tab-learn", Static).render())


async def test_ctrl_l_keeps_the_question_and_the_chosen_answer(home: Path) -> None:
    app = make_app(home=home, content_dir=QUIZ_CONTENT)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_mode(pilot, "f4", settle=0.2)
        await pilot.press("down", "enter")  # Drill
        await until(pilot, lambda: getattr(app.screen, "card", None) is not None, what="the question card")
        card = app.screen.card
        card.focus()
        await pilot.press("2")
        await pilot.pause()

        await pilot.press("ctrl+l")
        await until(pilot, lambda: "提交" in footer_text(app), what="the Chinese footer")

        assert app.screen.card is card and card.chosen == {card.choice_order[1]}  # row 2's choice, by id
        body = str(card.query_one("#q-body", Static).render())
        assert "Enter 提交" in body
        assert card.question.prompt.zh is None or card.language == "zh"


async def test_the_language_is_remembered_for_the_next_start(home: Path, content_dir: Path) -> None:
    app = make_app(home=home, content_dir=content_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_mode(pilot, "f2")
        await pilot.press("ctrl+l")
        await until(pilot, lambda: "继续" in footer_text(app), what="the Chinese footer")

    from pathway.i18n import set_language

    set_language("en")  # as in a fresh process
    again = make_app(home=home, content_dir=content_dir)
    async with again.run_test(size=(100, 30)) as pilot:
        await open_mode(pilot, "f2")
        await until(pilot, lambda: "继续" in footer_text(again), what="Chinese at the next start")
        assert "课" in str(again.screen.query_one("#home-title", Static).render())
