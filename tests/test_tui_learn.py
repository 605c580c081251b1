"""Pilot tests of Home and Learn against the fixture course and a temporary home."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select
from textual.widgets import Markdown, Static

from pathway.db.engine import open_database
from pathway.db.models import Activity, Learner, LessonProgress
from pathway.tui.app import make_app
from pathway.tui.screens.learn import LearnScreen
from pathway.tui.widgets.lesson_tree import LessonTree
from tui_helpers import open_mode, wait_ready


class TestHome:
    async def test_shows_roadmap_and_start(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_ready(pilot)
            title = str(app.screen.query_one("#home-title", Static).render())
            assert "Fixture course" in title and "0 / 3 lessons done" in title
            assert "Arrays, not loops" in str(app.screen.query_one("#continue", Static).render())

    async def test_enter_opens_the_first_lesson(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_ready(pilot)
            await pilot.press("enter")
            await pilot.pause(0.3)
            assert isinstance(app.screen, LearnScreen)
            assert app.screen.lesson_id == "w01-arrays"


class TestLearn:
    async def test_tree_navigation_complete_and_resume_after_restart(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await open_mode(pilot, "f3")
            screen = app.screen
            assert screen.lesson_id == "w01-arrays"
            tree = screen.query_one(LessonTree)
            assert tree.has_focus
            # The cursor sits on the open lesson; one down is the next lesson of the week.
            await pilot.press("down", "enter")
            await pilot.pause(0.5)
            assert screen.lesson_id == "w01-layout"
            assert "Paragraph 60" in screen.query_one("#lesson", Markdown).source
            await pilot.press("c")
            await pilot.pause()
            screen.query_one("#lesson-scroll").scroll_to(y=25, animate=False)
            await pilot.pause(0.1)

        engine = open_database(home)
        with Session(engine) as session:
            row = session.get(LessonProgress, "w01-layout")
            assert row.status == "completed" and row.completed_at is not None
            assert row.scroll_y == 25
            assert session.get(Learner, 1).last_lesson_id == "w01-layout"
            kinds = [a.kind for a in session.exec(select(Activity).order_by(Activity.id))]
            assert kinds == ["lesson_opened", "lesson_opened", "lesson_completed"]
        engine.dispose()

        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_ready(pilot)
            assert "Memory layout" in str(app.screen.query_one("#continue", Static).render())
            assert "1 / 3 lessons done" in str(app.screen.query_one("#home-title", Static).render())
            await pilot.press("enter")
            await pilot.pause(0.6)
            screen = app.screen
            assert screen.lesson_id == "w01-layout"
            assert screen.query_one("#lesson-scroll").scroll_y == 25
            assert "completed" in str(screen.query_one("#lesson-header", Static).render())

    async def test_next_previous_and_uncomplete(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await open_mode(pilot, "f3")
            screen = app.screen
            await pilot.press("n", "n")
            await pilot.pause(0.3)
            assert screen.lesson_id == "w02-shapes"
            await pilot.press("n")
            assert screen.lesson_id == "w02-shapes", "no lesson after the last"
            await pilot.press("p")
            await pilot.pause(0.3)
            assert screen.lesson_id == "w01-layout"
            await pilot.press("c", "c")
            await pilot.pause()
            assert "w01-layout" not in screen.done_ids()

    async def test_copy_code_puts_the_lesson_code_on_the_clipboard(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test() as pilot:
            await open_mode(pilot, "f3")
            await pilot.press("y")
            assert "doubled = [v * 2 for v in values]" in app.clipboard

    async def test_edit_code_writes_a_scratch_copy(self, home: Path, content_dir: Path, monkeypatch) -> None:
        monkeypatch.setenv("EDITOR", "true")
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test() as pilot:
            await open_mode(pilot, "f3")
            await pilot.press("e")
            await pilot.pause()
        assert "doubled" in (home / "scratch" / "w01-arrays.py").read_text()


class TestEverywhere:
    async def test_help_opens_and_closes(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test() as pilot:
            await wait_ready(pilot)
            await pilot.press("f1")
            assert type(app.screen).__name__ == "HelpScreen"
            await pilot.press("escape")
            assert type(app.screen).__name__ == "HomeScreen"
            await pilot.press("question_mark")
            assert type(app.screen).__name__ == "HelpScreen"

    async def test_theme_is_remembered(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test() as pilot:
            await wait_ready(pilot)
            app.theme = "nord"
            await pilot.pause()
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test() as pilot:
            await wait_ready(pilot)
            assert app.theme == "nord"

    async def test_every_mode_opens_from_its_key(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test() as pilot:
            await wait_ready(pilot)
            for key, mode in [("f3", "learn"), ("f4", "quiz"), ("f5", "labs"), ("f6", "progress"), ("f2", "home")]:
                await pilot.press(key)
                await pilot.pause(0.2)
                assert app.current_mode == mode

    async def test_palette_jumps_to_a_lesson(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test() as pilot:
            await wait_ready(pilot)
            await pilot.press("ctrl+p")
            await pilot.press(*"memory layout")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause(0.5)
            assert isinstance(app.screen, LearnScreen)
            assert app.screen.lesson_id == "w01-layout"

    async def test_broken_content_is_skipped_and_announced(self, home: Path, content_dir: Path) -> None:
        (content_dir / "lessons" / "week02" / "broken.md").write_text("no front matter")
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test() as pilot:
            await wait_ready(pilot)
            assert len(app.data.course.lessons) == 3
            notes = [n.message for n in app._notifications]
            assert any("broken.md" in message for message in notes)

    async def test_corrupt_database_shows_error_screen(self, home: Path, content_dir: Path) -> None:
        (home / "pathway.db").write_text("garbage")
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test() as pilot:
            for _ in range(600):
                await pilot.pause(0.05)
                if type(app.screen).__name__ == "ErrorScreen" and app.screen.query("#error-message"):
                    break
            assert type(app.screen).__name__ == "ErrorScreen"
            assert "is not a SQLite database" in str(app.screen.query_one("#error-message", Static).render())
            await pilot.press("q")
        assert app.return_code == 2
        assert (home / "pathway.db").read_text() == "garbage"


class TestLanguage:
    async def test_ctrl_l_switches_lessons_to_chinese_and_is_remembered(self, home: Path, content_dir: Path) -> None:
        (content_dir / "lessons" / "week01" / "arrays.zh.md").write_text("## 为什么重要\n\n数组比循环快。\n")
        (content_dir / "lessons" / "week01" / "layout.zh.md").unlink()  # a lesson still without one shows English
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await open_mode(pilot, "f3")
            await pilot.press("ctrl+l")
            await pilot.pause(0.5)
            assert "数组比循环快" in app.screen.query_one("#lesson", Markdown).source
            assert "用数组，不用循环" in str(app.screen.query_one("#lesson-header", Static).render())
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_ready(pilot)
            assert "用数组，不用循环" in str(app.screen.query_one("#continue", Static).render())
            await pilot.press("f3", "n")
            await pilot.pause(0.4)
            assert "Paragraph 1:" in app.screen.query_one("#lesson", Markdown).source, "falls back to English"


class TestCheckYourself:
    async def test_k_drills_the_lessons_questions(self, home: Path) -> None:
        from pathway.tui.quiz.screen import QuizScreen

        app = make_app(home=home)  # the shipped course: lessons and questions
        async with app.run_test(size=(100, 30)) as pilot:
            await open_mode(pilot, "f3", settle=0.5)
            week = app.data.course.lesson(app.screen.lesson_id).meta.week
            await pilot.press("k")
            await pilot.pause(0.5)
            screen = app.screen
            assert isinstance(screen, QuizScreen) and screen.mode == "drill"
            assert screen.queue and all(app.data.course.question(q).week == week for q in screen.queue)
