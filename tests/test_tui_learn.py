"""Pilot tests of Home and Learn against the fixture course and a temporary home."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select
from rich.text import Text
from textual.widgets import Markdown, Static

from pathway.db.engine import open_database
from pathway.db.models import Activity, Learner, LessonProgress
from pathway.tui.app import make_app
from pathway.tui.screens.learn import LearnScreen
from pathway.tui.widgets.lesson_tree import LessonTree
from tui_helpers import open_mode, until, wait_ready

QUIZ_FIXTURE = Path(__file__).parent / "fixtures" / "quiz_content"


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
            kinds = [a.kind for a in session.exec(select(Activity).order_by(Activity.id)) if a.kind != "study_time"]
            assert kinds == ["lesson_opened", "lesson_opened", "lesson_completed"]  # study_time: measured on quit, see test_pace
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
            await until(pilot, lambda: app._notifications, what="the content toast")
            notes = [n.message for n in app._notifications]
            assert any("broken.md" in message for message in notes)

    async def test_content_toast_counts_like_the_checker_and_names_the_content_dir(self, home: Path, tmp_path: Path) -> None:
        import shutil

        from pathway.cli.content import summary
        from pathway.content.bank_checks import check_bank
        from pathway.content.loader import load_course

        content = tmp_path / "quiz_content"
        shutil.copytree(QUIZ_FIXTURE, content)
        questions = content / "questions" / "t01-tensors.yaml"
        # A stray `@` (not valid YAML) in one tag, and a second correct choice in another question.
        text = questions.read_text().replace("tags: [broadcasting]", "tags: [@broadcasting]", 1)
        questions.write_text(text.replace("{en: \"x.clone()\", zh: \"x.clone()\"}, correct: false", "{en: \"x.clone()\", zh: \"x.clone()\"}, correct: true", 1))
        course = load_course(content)
        expected = len(summary(course, check_bank(course, run_code=False))["problems"])  # what `content check --fast` prints
        assert expected > len(course.problems), "the bank rules add problems the loader does not see"

        app = make_app(home=home, content_dir=content)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_ready(pilot)
            await until(pilot, lambda: app._notifications, timeout=120, what="the content toast")
            [message] = [n.message for n in app._notifications]
        assert message.startswith(f"{expected} content problems")
        assert f"pathway --content-dir {content} content check --fast" in message
        assert "Value error" not in message
        assert len(app.data.course.questions) == 5, "only the broken question of the file was skipped"

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


def footer_keys(screen):
    from textual.widgets._footer import FooterKey

    return list(screen.query_one("FittedFooter").query(FooterKey))


class TestScreensFit:
    async def test_home_says_what_today_counts_and_uses_one_word_for_enter(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_ready(pilot)
            today = str(app.screen.query_one("#today", Static).render())
            assert "nothing done yet" in today and "action" not in today
            [enter] = [k for k in footer_keys(app.screen) if k.key == "enter"]
            assert str(app.screen.query_one("#continue", Static).render()).startswith(enter.description)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, LearnScreen) and app.screen.lesson_id is not None)
            await pilot.press("f2")
            await until(pilot, lambda: "lesson opened" in str(app.screen.query_one("#today", Static).render()))
            assert "1 lesson opened" in str(app.screen.query_one("#today", Static).render())

    async def test_home_scrolls_to_every_card_on_a_short_terminal(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)  # 2 weeks: 60x10 is as short for it as 60x15 for 24
        async with app.run_test(size=(60, 10)) as pilot:
            await wait_ready(pilot)
            body = app.screen.query_one("#home-body")
            labs = app.screen.query_one("#labs", Static)
            assert labs.region.y >= body.region.bottom, "the Labs line starts below the fold"
            for _ in range(10):
                await pilot.press("down")
            await pilot.pause()
            assert body.region.y <= labs.region.y < body.region.bottom, "scrolling brings it into view"

    async def test_lesson_tree_grows_with_the_width_and_cuts_with_an_ellipsis(self, home: Path, content_dir: Path) -> None:
        widths = {}
        for size in [(80, 24), (120, 40)]:
            app = make_app(home=home, content_dir=content_dir)
            async with app.run_test(size=size) as pilot:
                await open_mode(pilot, "f3", settle=0.3)
                tree = app.screen.query_one(LessonTree)
                widths[size[0]] = tree.size.width
                assert not tree.show_horizontal_scrollbar, "no stray scrollbar block under the tree"
                room = tree.scrollable_content_region.width
                lines = [tree.render_label(node, tree.rich_style, tree.rich_style) for node in tree._lesson_nodes.values()]
                assert all(line.cell_len <= room - 4 for line in lines)  # lessons sit two guide levels deep
                if size == (80, 24):
                    title = "Memory layout: strides and contiguity"
                    layout = tree._lesson_nodes["w01-layout"]
                    tree._lesson_nodes["w01-layout"].set_label(Text(f"· {title} and much more after it"))
                    label = tree.render_label(layout, tree.rich_style, tree.rich_style).plain
                    assert label.endswith("…") and len(label) == room - 4
                header = str(app.screen.query_one("#lesson-header", Static).render())
                assert header.splitlines()[-1].startswith("not completed"), "the status is a line of its own"
        assert widths[120] >= widths[80] + 12

    async def test_every_footer_fits_80_columns_and_keeps_help(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_ready(pilot)
            for key in ["f2", "f3", "f4", "f5", "f6"]:
                await open_mode(pilot, key, settle=0.3)
                keys = footer_keys(app.screen)
                palette = next(k for k in keys if k.has_class("-command-palette"))
                others = [k for k in keys if k is not palette]
                assert any(k.key == "f1" for k in others), f"F1 Help on {app.current_mode}"
                assert all(k.region.right <= palette.region.x for k in others), f"{app.current_mode}: a key runs under the palette"


class TestHelp:
    async def test_help_lists_this_screens_keys_from_its_bindings_and_how_to_close(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_mode(pilot, "f3", settle=0.3)
            await pilot.press("f1")
            await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
            text = app.screen.query_one(Markdown).source
            assert "Esc" in text.split("##")[0], "how to close it comes first"
            assert "## On Learn" in text and "## Everywhere" in text
            for binding in LearnScreen.BINDINGS:  # hidden ones too: Help is where they are listed
                assert binding.tooltip in text
            assert "`q esc`  back to Home" in text and "`f3`  go to Learn" in text
            assert "Cursor Up" not in text, "Textual's own tree keys stay out"
            descriptions = [k.description for k in footer_keys(app.screen)]
            assert "Close help" in descriptions and "Done ✓" not in descriptions
            await pilot.press("escape")
            assert isinstance(app.screen, LearnScreen)

    async def test_help_on_home_says_q_quits(self, home: Path, content_dir: Path) -> None:
        app = make_app(home=home, content_dir=content_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_ready(pilot)
            await pilot.press("question_mark")
            await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
            text = app.screen.query_one(Markdown).source
            assert "`q`  quit pathway" in text and "back to Home" not in text


class TestPalette:
    async def test_week_numbers_in_any_form_find_the_weeks_lessons(self, home: Path, content_dir: Path) -> None:
        for query in ["week 2", "w2", "W02", "第2周"]:
            app = make_app(home=home, content_dir=content_dir)
            async with app.run_test() as pilot:
                await wait_ready(pilot)
                await pilot.press("ctrl+p")
                await pilot.press(*query)
                await pilot.pause(0.5)
                await pilot.press("enter")
                await until(pilot, lambda: isinstance(app.screen, LearnScreen) and app.screen.lesson_id is not None)
                assert app.screen.lesson_id == "w02-shapes", query

    async def test_week_lessons_rank_above_questions_that_mention_weeks(self, home: Path) -> None:
        from pathway.tui.palette import LessonCommands, QuestionCommands

        app = make_app(home=home)  # the shipped course: "3-week pretraining run" is in a question
        async with app.run_test() as pilot:
            await wait_ready(pilot)
            screen = app.screen
            hits = []
            for provider in (LessonCommands(screen), QuestionCommands(screen)):
                hits += [hit async for hit in provider.search("week 10")]
            best = max(hits, key=lambda hit: hit.score)
            assert str(best.text).startswith("W10 "), best.text
            assert [str(h.text)[:4] for h in sorted(hits, key=lambda h: -h.score)][:1] == ["W10 "]

    def test_question_entries_are_plain_text_cut_at_a_word(self) -> None:
        from pathway.tui.palette import plain, shorten

        prompt = plain("Why does `x.view(-1)` fail after **transpose**, and *why* is [reshape](https://x.org) fine?")
        assert prompt == "Why does x.view(-1) fail after transpose, and why is reshape fine?"
        cut = shorten(prompt, 30)
        assert cut == "Why does x.view(-1) fail…" and len(cut) <= 30

    async def test_a_question_opened_from_the_palette_is_scheduled(self, home: Path) -> None:
        app = make_app(home=home, content_dir=QUIZ_FIXTURE)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_ready(pilot)
            app.open_question("t01-broadcast-shape")
            await until(pilot, lambda: getattr(app.screen, "mode", None) is not None)
            from pathway.quiz.scheduling import SCHEDULING_MODES

            assert app.screen.mode in SCHEDULING_MODES and app.screen.queue == ["t01-broadcast-shape"]
