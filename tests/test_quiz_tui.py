"""Pilot tests of Quiz and Progress: a Today session, every question type, Cram, a mock interview."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from pathway.quiz import scheduling as reviews
from pathway.db.engine import open_database
from pathway.db.models import MockInterview, ReviewLog

from pathway.tui.app import PathwayApp, make_app
from pathway.tui.quiz.screen import QuizScreen
from pathway.tui.quiz.question_card import QuestionCard
from tui_helpers import open_mode, until, wait_ready

CONTENT = Path(__file__).parent / "fixtures" / "quiz_content"



def quiz_app(home: Path) -> PathwayApp:
    return make_app(home=home, content_dir=CONTENT)  # the real app, its real Quiz and Progress screens


def logs(home: Path) -> list[ReviewLog]:
    engine = open_database(home)
    with Session(engine) as session:
        rows = session.exec(select(ReviewLog).order_by(ReviewLog.id)).all()
    engine.dispose()
    return rows


async def open_quiz(pilot) -> QuizScreen:
    await open_mode(pilot, "f4", settle=0.2)
    assert isinstance(pilot.app.screen, QuizScreen)
    return pilot.app.screen


async def choose(pilot, option_id: str) -> None:
    screen = pilot.app.screen
    modes = screen.query_one("#quiz-modes")
    modes.highlighted = [o.id for o in modes.options].index(option_id)
    await pilot.press("enter")
    views = screen.query_one("#quiz-views")
    await until(pilot, lambda: views.current != "quiz-chooser", what=f"the {option_id} session opening")


def row_key(card: QuestionCard, choice_id: int) -> str:
    """The number key that picks this choice where the card shows it (choices come shuffled)."""
    return str(card.choice_order.index(choice_id) + 1)


async def answer_right(pilot, card: QuestionCard) -> None:
    """Give the right answer with the keys a learner would press."""
    q = card.question
    if q.type == "single":
        await pilot.press(row_key(card, q.correct_indices[0]), "enter")
    elif q.type == "multi":
        await pilot.press(*(row_key(card, i) for i in q.correct_indices), "enter")
    elif q.type == "numeric":
        await pilot.press("i", *f"{q.answer:g}", "enter")  # i: into the number field
    elif q.type == "order":
        # Put the items in place with Shift+↓: a bubble sort by keys.
        for _ in range(len(card.order)):
            for row in range(len(card.order) - 1):
                card.cursor = row
                if q.items[card.order[row]].position > q.items[card.order[row + 1]].position:
                    await pilot.press("shift+down")
        await pilot.press("enter")
    elif q.type in ("recall", "design"):
        await pilot.press("space")
    elif q.type == "code":
        card.query_one("#q-code").text = q.solution
        await pilot.press("ctrl+r")
        for _ in range(100):
            await pilot.pause(0.1)
            if card.phase == "feedback":
                break
    await pilot.pause(0.2)


class TestToday:
    async def test_today_session_answers_and_commits_each_rating(self, home: Path) -> None:
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            assert "3 new from week 1" in str(screen.query_one("#quiz-summary").render())
            await choose(pilot, "today")
            seen = []
            while screen.mode == "today" and len(seen) < 3:
                card = screen.card
                seen.append(card.question.id)
                await answer_right(pilot, card)
                assert card.phase == "feedback"
                assert "Right." in str(card.query_one("#q-rate").render())
                await pilot.press("enter")  # take the suggested rating
                await pilot.pause(0.2)
                assert len(logs(home)) == len(seen), "each rating is committed at once"
            assert sorted(seen) == ["t01-broadcast-shape", "t01-float32-bytes", "t01-view-contiguous"]
        rows = logs(home)
        assert [r.mode for r in rows] == ["today"] * 3 and all(r.correct for r in rows)
        assert all(r.rating == 4 for r in rows), "right and fast suggests Easy"
        engine = open_database(home)
        assert set(reviews.cards(engine)) == set(seen)
        engine.dispose()

    async def test_wrong_answer_suggests_again_and_the_learner_can_change_it(self, home: Path) -> None:
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            await choose(pilot, "today")
            card = screen.card
            q = card.question
            if q.type == "numeric":
                await pilot.press("enter", "9", "9", "enter")  # Enter goes into the field, then submits
            elif q.type == "single":
                await pilot.press(row_key(card, (q.correct_indices[0] + 1) % len(q.choices)), "enter")
            else:  # multi: pick only the wrong one
                wrong = next(i for i, c in enumerate(q.choices) if not c.correct)
                await pilot.press(row_key(card, wrong), "enter")
            await pilot.pause(0.2)
            assert card.suggested == 1 and "Not quite." in str(card.query_one("#q-rate").render())
            await pilot.press("2")  # the learner overrides Again with Hard
            await pilot.pause(0.2)
        (row,) = logs(home)
        assert row.rating == 2 and row.correct is False


    async def test_the_to_go_count_never_jumps_up_and_names_the_learning_steps(self, home: Path) -> None:
        """Good on a new card brings it back in 10 minutes: the count used to fall to 1, then jump to 3."""
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            await choose(pilot, "today")
            bars = []
            while screen.mode == "today" and len(bars) < 10:
                bars.append(str(screen.query_one("#quiz-bar").render()))
                await answer_right(pilot, screen.card)
                await pilot.press("3")  # Good, not the suggested Easy: the card takes a learning step
                await pilot.pause(0.2)
        to_go = [int(bar.split(" to go")[0].rsplit("· ", 1)[1]) for bar in bars]
        assert len(bars) == 6, "three new cards, each seen twice"
        assert to_go == [3, 3, 3, 3, 2, 1], bars
        assert "3 back in a few minutes" in bars[3], "the count says what it is made of"

    async def test_new_questions_follow_completed_lessons_not_the_last_one_opened(self, home: Path) -> None:
        from pathway.db import progress

        engine = open_database(home)
        progress.open_lesson(engine, "autograd-basics")  # a week-2 lesson, only looked at
        engine.dispose()
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            assert "3 new from week 1" in str(screen.query_one("#quiz-summary").render())
            progress.set_lesson_complete(app.data.engine, "autograd-basics")
            screen.refresh_chooser()
            assert "new from week 2" in str(screen.query_one("#quiz-summary").render())

    async def test_footer_offers_only_what_applies(self, home: Path) -> None:
        engine = open_database(home)
        reviews.record_review(engine, "t01-broadcast-shape", 3, "today", True, 0, 3000)
        engine.dispose()
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            await choose(pilot, "today")
            keys = screen.active_bindings
            assert "n" not in keys, "Today has no skip"
            assert screen.card.question.id != "t01-broadcast-shape" and "x" not in keys, "nothing to forget on a new question"
            assert "f1" in keys, "Help stays in the footer"
            await pilot.press("escape")
            await pilot.pause(0.2)
            await choose(pilot, "drill")
            assert screen.card.question.id == "t01-broadcast-shape"
            assert {"n", "x"} <= set(screen.active_bindings), "a drill skips; an answered question can be forgotten"


class TestKeys:
    async def test_numeric_opens_with_keys_as_keys_then_i_types_and_esc_leaves(self, home: Path) -> None:
        from textual.widgets import Input

        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            await choose(pilot, "drill")
            while screen.card.question.type != "numeric":
                await pilot.press("n")
                await pilot.pause(0.2)
            card = screen.card
            field = card.query_one("#q-number", Input)
            assert screen.focused is card and "Press i or Enter" in str(card.query_one("#q-body").render())
            await pilot.press("h")  # a shortcut (here: no hints), never text in the field
            await pilot.pause(0.1)
            assert field.value == "" and screen.focused is not field
            await pilot.press("i", "4")
            await pilot.pause(0.1)
            assert screen.focused is field and field.value == "4"
            assert "Typing" in str(card.query_one("#q-body").render()), "the card says where the keys go"
            await pilot.press("escape")
            await pilot.pause(0.1)
            assert screen.focused is card and screen.mode == "drill", "Esc leaves the field, not the drill"

    async def test_code_editor_opens_unfocused_and_f6_reaches_the_app(self, home: Path) -> None:
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            card = await drill_to_code(pilot, screen)
            editor = card.query_one("#q-code")
            assert screen.focused is card
            await pilot.press("enter")
            await pilot.pause(0.1)
            assert screen.focused is editor and "Editing" in str(card.query_one("#q-body").render())
            await pilot.press("escape")
            await pilot.pause(0.1)
            assert screen.focused is card and screen.mode == "drill"
            await pilot.press("i")
            await pilot.pause(0.1)
            await pilot.press("f6")  # the tabs say F6 is Progress; TextArea would select a line
            await until(pilot, lambda: getattr(app.screen, "MODE", None) == "progress", what="Progress opening")
            assert editor.selected_text == ""


class TestLeaving:
    async def test_leaving_a_drill_with_answers_asks_first(self, home: Path) -> None:
        from pathway.tui.screens.confirm import ConfirmScreen

        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            await choose(pilot, "drill")
            await pilot.press("q")  # nothing answered yet: leaves at once
            await pilot.pause(0.2)
            assert screen.mode is None
            await choose(pilot, "drill")
            await answer_right(pilot, screen.card)
            await pilot.press("escape")  # answered, not rated yet
            await pilot.pause(0.2)
            assert isinstance(app.screen, ConfirmScreen) and "not saved until you rate it" in app.screen.question
            await pilot.press("n")
            await pilot.pause(0.2)
            await pilot.press("3")
            await pilot.pause(0.2)
            await pilot.press("q")
            await pilot.pause(0.2)
            assert isinstance(app.screen, ConfirmScreen) and "1 rating so far" in app.screen.question
            await pilot.press("y")
            await pilot.pause(0.2)
            assert screen.mode is None and len(logs(home)) == 1

    async def test_leaving_a_mock_asks_then_says_one_thing(self, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from pathway.tui.screens.confirm import ConfirmScreen

        monkeypatch.setattr(QuizScreen, "clock", staticmethod(FakeClock()))
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            screen.query_one("#f-length").value = 5
            await choose(pilot, "mock")
            while screen.card.question.type in ("recall", "design"):
                await pilot.press("n")  # a graded question, so that the answer is logged at once
                await pilot.pause(0.2)
            await answer_right(pilot, screen.card)
            app.clear_notifications()
            await pilot.press("q")
            await pilot.pause(0.2)
            assert isinstance(app.screen, ConfirmScreen) and "1 answer of 5" in app.screen.question
            await pilot.press("y")
            await pilot.pause(0.2)
            messages = [n.message for n in app._notifications]
            assert messages == ["Mock interview left after 1 answer of 5; saved as unfinished."], messages

    async def test_an_unfinished_past_interview_opens_with_what_was_saved(self, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(QuizScreen, "clock", staticmethod(FakeClock()))
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            screen.query_one("#f-length").value = 5
            await choose(pilot, "mock")
            await pilot.press("n")  # skip one
            await pilot.pause(0.2)
            screen.leave_session()
            await pilot.pause(0.2)
            await choose(pilot, "reports")
            await pilot.press("enter")
            await pilot.pause(0.3)
            report = screen.query_one("#report").source
            assert "Mock interview #1: left unfinished" in report and "0 of 5 questions answered" in report
            assert report.count("| skipped |") == 1 and report.count("| not reached |") == 4


class TestReturn:
    async def test_check_yourself_then_q_returns_to_the_lesson(self, home: Path) -> None:
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_mode(pilot, "f3", settle=0.3)
            app.screen.open_lesson("tensors-basics")
            await pilot.pause(0.3)
            await pilot.press("k")
            await until(pilot, lambda: getattr(app.screen, "MODE", None) == "quiz" and app.screen.card is not None,
                        what="the lesson's drill")
            await pilot.press("q")
            await until(pilot, lambda: getattr(app.screen, "MODE", None) == "learn", what="back to the lesson")
            assert app.screen.lesson_id == "tensors-basics"


class TestChoiceOrder:
    def test_the_key_lands_on_every_row_about_equally(self) -> None:
        from random import Random

        from pathway.content.loader import load_course
        from pathway.tui.quiz.question_card import choice_order

        question = next(q for q in load_course().questions if q.type == "single" and len(q.choices) == 4)
        rng = Random(7)
        rows = [choice_order(question, rng).index(question.correct_indices[0]) for _ in range(400)]
        assert all(70 <= rows.count(row) <= 130 for row in range(4)), [rows.count(row) for row in range(4)]

    async def test_an_answer_is_graded_and_stored_by_choice_id_not_by_row(self, home: Path) -> None:
        from random import Random

        app = quiz_app(home)
        app.choice_rng = Random(3)  # this seed shows t01-broadcast-shape's key (id 0) on row 3 of 3
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            await choose(pilot, "drill")
            card = screen.card
            assert card.question.id == "t01-broadcast-shape" and card.choice_order.index(0) == 2, card.choice_order
            body = str(card.query_one("#q-body").render())
            shown = next(line for line in body.splitlines() if "(3, 4)" in line)
            assert shown.split("(3, 4)")[0].strip().endswith("3"), body  # row 3 shows the key
            await pilot.press("3", "enter")
            await until(pilot, lambda: card.phase == "feedback", what="the feedback")
            assert "Right" in card.verdict
            await pilot.press("enter")  # take the suggested rating: the answer is stored
            await until(pilot, lambda: len(logs(home)) == 1, what="the review log")
        log = logs(home)[0]
        assert log.correct is True and log.answer == "0"


class TestReviewView:
    async def test_after_a_wrong_choice_only_it_and_the_right_one_are_marked(self, home: Path) -> None:
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            await choose(pilot, "drill")
            card = screen.card
            assert card.question.id == "t01-broadcast-shape"  # 3 choices, the first right
            header = str(card.query_one(".q-meta").render())
            assert "Python for ML and PyTorch tensors" in header and "easy" in header and "topic 1 " not in header
            await pilot.press(row_key(card, 1), "enter")  # a wrong one
            await pilot.pause(0.2)
            body = str(card.query_one("#q-body").render())
            assert body.count("✗") == 1 and body.count("✓") == 1, body

    async def test_recall_shows_one_rating_legend(self, home: Path) -> None:
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            await choose(pilot, "drill")
            while screen.card.question.type != "recall":
                await pilot.press("n")
                await pilot.pause(0.2)
            await pilot.press("space")
            await pilot.pause(0.2)
            rate = str(screen.card.query_one("#q-rate").render())
            assert "1 Again" in rate and "4 Easy" in rate and "forgot" not in rate


def test_inline_markdown_in_choices_becomes_markup() -> None:
    from textual.content import Content

    from pathway.tui.quiz.markup import inline

    shown = Content.from_markup(inline("Use `a*b*c`, *not allowed* on **views** [sic] and snake_case_name"))
    assert shown.plain == "Use a*b*c, not allowed on views [sic] and snake_case_name"
    styles = {shown.plain[span.start : span.end]: str(span.style) for span in shown.spans}
    assert "italic" in styles["not allowed"] or styles["not allowed"] == "i"
    assert "a*b*c" in styles, "code spans keep their stars"


class TestEveryType:
    async def test_drill_walks_every_type(self, home: Path) -> None:
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            await choose(pilot, "drill")
            types = []
            while screen.mode == "drill":
                card = screen.card
                types.append(card.question.type)
                await answer_right(pilot, card)
                assert card.phase == "feedback", card.question.id
                await pilot.press("3")
                await pilot.pause(0.2)
        assert sorted(types) == sorted(["single", "multi", "numeric", "order", "recall", "code", "design"])
        rows = logs(home)
        assert {r.mode for r in rows} == {"drill"} and all(r.rating == 3 for r in rows)
        by_id = {r.question_id: r for r in rows}
        assert by_id["t02-leaf-tensor"].correct is None, "self-rated"
        assert by_id["t02-softmax-stable"].correct is True and "def softmax" in by_id["t02-softmax-stable"].answer

    async def test_failing_code_shows_which_test_failed_then_the_solution_after_three_tries(self, home: Path) -> None:
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            card = await drill_to_code(pilot, screen)
            await run_tests(pilot, card)  # the starter as given: shows the tests, costs no try
            result = str(card.query_one("#q-result").render())
            assert card.tries == 0 and "not counted as a try" in result and "NotImplementedError" in result
            card.query_one("#q-code").text = WRONG_SOFTMAX
            for attempt in range(1, 4):
                await run_tests(pilot, card)
                assert card.tries == attempt
                result = str(card.query_one("#q-result").render())
                assert "0/2 tests passed" in result and "test_sums_to_one" in result and f"try {attempt}" in result
                assert screen.query_one("#quiz-bar") is not None  # the app stayed responsive
            assert card.phase == "feedback" and card.suggested == 1
            assert "def softmax" in card.query_one("#q-feedback").source

    async def test_a_pass_on_the_second_try_suggests_hard_and_keeps_the_learners_code(self, home: Path) -> None:
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            card = await drill_to_code(pilot, screen)
            editor = card.query_one("#q-code")
            editor.text = WRONG_SOFTMAX
            await run_tests(pilot, card)
            mine = card.question.solution.replace("top = max(xs)", "top = max(xs)  # mine")
            editor.text = mine
            await run_tests(pilot, card)
            assert card.phase == "feedback" and card.tries == 2
            assert card.suggested == 2, "right, but not on the first try: Hard"
            assert editor.display and editor.read_only and editor.text == mine, "the learner's code stays on screen"
            feedback = card.query_one("#q-feedback").source
            assert "**Solution**" in feedback and "**Common bugs**" in feedback and "A common bug:" not in feedback

    async def test_a_message_that_is_the_summary_is_shown_once(self, home: Path) -> None:
        from pathway.quiz.exercise_runner import ExerciseResult

        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            card = await drill_to_code(pilot, screen)
            card.tries = 1
            limit = "Stopped at the time limit of 10 s while running test_sums_to_one: look for a loop that never ends."
            card.show_test_result(ExerciseResult(status="timeout", tests=(), message=limit, output="", seconds=10.0), can_retry=True)
            await pilot.pause()
            assert str(card.query_one("#q-result").render()).count("Stopped at the time limit") == 1


WRONG_SOFTMAX = "import math\n\ndef softmax(xs):\n    return [0.0 for x in xs]\n"


async def drill_to_code(pilot, screen: QuizScreen) -> QuestionCard:
    """A drill of topic 2, skipped forward to its code exercise."""
    screen.query_one("#f-topic").value = "2"
    await choose(pilot, "drill")
    while screen.card.question.type != "code":
        await pilot.press("n")
        await pilot.pause(0.2)
    return screen.card


async def run_tests(pilot, card: QuestionCard) -> None:
    """Ctrl+R, then wait for the sandbox's verdict."""
    await pilot.press("ctrl+r")
    await until(pilot, lambda: card.phase != "grading", timeout=60, what="the exercise's tests")
    await pilot.pause(0.1)


class TestCram:
    async def test_cram_logs_but_does_not_schedule(self, home: Path) -> None:
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            await choose(pilot, "cram")
            for _ in range(2):
                await answer_right(pilot, screen.card)
                await pilot.press("enter" if screen.card.suggested else "3")
                await pilot.pause(0.2)
        assert [r.mode for r in logs(home)] == ["cram", "cram"]
        engine = open_database(home)
        assert reviews.cards(engine) == {}
        engine.dispose()


class FakeClock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


class TestMock:
    async def test_mock_interview_with_timeouts_and_report(self, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = FakeClock()
        monkeypatch.setattr(QuizScreen, "clock", staticmethod(clock))
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            screen.query_one("#f-length").value = 5
            await choose(pilot, "mock")
            assert screen.mode == "mock" and "question 1/5" in str(screen.query_one("#quiz-bar").render())
            first = screen.card.question.id
            clock.t += 91  # longer than a question may take
            await pilot.pause(0.8)  # the screen's timer notices
            assert screen.card.question.id != first
            while screen.mode == "mock" and not screen.to_rate:
                card = screen.card
                assert card.feedback is False
                clock.t += 10
                await answer_right(pilot, card)
                assert card.verdict == "" and card.suggested is None, "no feedback during the interview"
            while screen.to_rate:
                await pilot.press("4")
                await pilot.pause(0.2)
            assert screen.query_one("#quiz-views").current == "quiz-report"
            report = screen.query_one("#report").source
            assert "Mock interview #1: 4 / 5 (80%)" in report
            assert "time ran out" in report and "The answers to what you missed" in report
        engine = open_database(home)
        with Session(engine) as session:
            mock = session.exec(select(MockInterview)).one()
            assert mock.finished_at is not None and mock.report
            assert {r.mode for r in session.exec(select(ReviewLog))} == {"mock"}
        engine.dispose()


class TestProgress:
    async def test_progress_shows_mastery_heatmap_streak_and_forecast(self, home: Path) -> None:
        engine = open_database(home)
        reviews.record_review(engine, "t01-broadcast-shape", 3, "today", True, 0, 3000)
        engine.dispose()
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_mode(pilot, "f6", settle=0.5)
            screen = app.screen
            assert "Review streak 1 day" in str(screen.query_one("#progress-summary").render())
            mastery = str(screen.query_one("#progress-mastery").render())
            assert "python-tensors" in mastery and "1/4 seen" in mastery
            assert "Mon" in str(screen.query_one("#progress-heatmap").render())
            assert "Due in the next 7 days" in str(screen.query_one("#progress-forecast").render())


class TestReset:
    async def test_forget_the_question_on_screen_after_confirming(self, home: Path) -> None:
        engine = open_database(home)
        reviews.record_review(engine, "t01-broadcast-shape", 3, "today", True, 0, 3000)
        engine.dispose()
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_quiz(pilot)
            await choose(pilot, "drill")
            assert screen.card.question.id == "t01-broadcast-shape"
            await pilot.press("x")
            await pilot.pause(0.2)
            await pilot.press("n")  # no: nothing changes
            await pilot.pause(0.2)
            assert screen.card.question.id == "t01-broadcast-shape"
            await pilot.press("x")
            await pilot.pause(0.2)
            await pilot.press("y")
            await pilot.pause(0.3)
            assert screen.card.question.id == "t01-view-contiguous"
        engine = open_database(home)
        assert reviews.cards(engine) == {}
        engine.dispose()

    async def test_progress_resets_a_topic(self, home: Path) -> None:
        engine = open_database(home)
        for qid in ("t01-broadcast-shape", "t02-leaf-tensor"):
            reviews.record_review(engine, qid, 3, "today", True, None, 3000)
        engine.dispose()
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_mode(pilot, "f6", settle=0.5)
            await pilot.press("x")
            await pilot.pause(0.3)
            await pilot.press("down", "down", "enter")  # All, topic 1, topic 2
            await pilot.pause(0.2)
            await pilot.press("y")
            await pilot.pause(0.5)
        engine = open_database(home)
        assert set(reviews.cards(engine)) == {"t01-broadcast-shape"}
        engine.dispose()


class TestOpenQuestion:
    async def test_open_question_crams_just_that_one(self, home: Path) -> None:
        app = quiz_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_ready(pilot)
            app.switch_mode("quiz")
            app.screen.open_question("t01-tensor-steps")
            await pilot.pause(0.5)
            screen = app.screen
            assert screen.mode == "cram" and screen.card.question.id == "t01-tensor-steps"
