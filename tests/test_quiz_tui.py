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


async def answer_right(pilot, card: QuestionCard) -> None:
    """Give the right answer with the keys a learner would press."""
    q = card.question
    if q.type == "single":
        await pilot.press(str(q.correct_indices[0] + 1), "enter")
    elif q.type == "multi":
        await pilot.press(*(str(i + 1) for i in q.correct_indices), "enter")
    elif q.type == "numeric":
        await pilot.press(*f"{q.answer:g}", "enter")
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
                await pilot.press("9", "9", "enter")
            elif q.type == "single":
                await pilot.press(str((q.correct_indices[0] + 1) % len(q.choices) + 1), "enter")
            else:  # multi: pick only the wrong one
                wrong = next(i for i, c in enumerate(q.choices) if not c.correct)
                await pilot.press(str(wrong + 1), "enter")
            await pilot.pause(0.2)
            assert card.suggested == 1 and "Not quite." in str(card.query_one("#q-rate").render())
            await pilot.press("2")  # the learner overrides Again with Hard
            await pilot.pause(0.2)
        (row,) = logs(home)
        assert row.rating == 2 and row.correct is False


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
            screen.query_one("#f-topic").value = "2"
            await choose(pilot, "drill")
            while screen.card.question.type != "code":
                await pilot.press("n")
                await pilot.pause(0.2)
            card = screen.card
            for attempt in range(1, 4):
                await pilot.press("ctrl+r")
                for _ in range(100):
                    await pilot.pause(0.1)
                    if card.tries == attempt and card.phase != "grading":
                        break
                result = str(card.query_one("#q-result").render())
                assert "0/2 tests passed" in result and "test_sums_to_one" in result and "NotImplementedError" in result
                assert screen.query_one("#quiz-bar") is not None  # the app stayed responsive
            assert card.phase == "feedback" and card.suggested == 1
            assert "def softmax" in card.query_one("#q-feedback").source


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
