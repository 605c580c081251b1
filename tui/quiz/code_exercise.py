"""Code exercises inside the Quiz screen: tests run in a worker, retries, the $EDITOR hand-off.

`CodeExercise` is a part of `QuizScreen` (one of its base classes), like `MockInterview`. The
sandbox that runs the tests is `pathway.quiz.exercise_runner`; the editor
widget is the question card's TextArea.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.message import Message

from pathway.i18n import _
from pathway.tui.editor import edit_in_terminal, scratch_file
from pathway.tui.quiz.question_card import SOLUTION_AFTER_TRIES, QuestionCard
from pathway.tui.screens.base import ModeScreen


@dataclass
class Answer:
    """What the learner gave for the question on screen, until it is rated."""

    answer: Any
    correct: bool | None
    seconds: float


@dataclass
class CodeGraded(Message):
    """A code exercise's tests finished in the worker."""

    card: QuestionCard
    result: Any
    seconds: float
    hints_used: int


class CodeExercise(ModeScreen):
    """Code-exercise actions of the Quiz screen (a Screen subclass so that Textual sees its @on handlers)."""

    @work(thread=True, exclusive=True, exit_on_error=False, group="grade")
    def grade_code(self, card: QuestionCard, code: str, seconds: float, hints_used: int) -> None:
        from pathway.quiz.exercise_runner import grade_code

        result = grade_code(card.question, code)
        self.post_message(CodeGraded(card, result, seconds, hints_used))

    @on(CodeGraded)
    def code_graded(self, event: CodeGraded) -> None:
        from pathway.quiz.grading import suggest_rating

        card = event.card
        if card is not self.card:
            return  # the learner moved on while the tests ran
        if event.result.passed or card.tries >= SOLUTION_AFTER_TRIES:
            self.pending = Answer(card.code, event.result.passed, event.seconds)
            rating = suggest_rating(
                event.result.passed, event.seconds, card.question.difficulty, "code", event.hints_used, tries=max(1, card.tries)
            )
            card.show_test_result(event.result, can_retry=False)
            # the result above already names the tests (or the time limit): the verdict stays short
            card.show_feedback(event.result.passed, rating, "", self.memory_text(card.question.id))
        else:
            card.show_test_result(event.result, can_retry=True)

    @on(QuestionCard.EditExternally)
    def edit_externally(self, event: QuestionCard.EditExternally) -> None:
        card = event.card
        path = scratch_file(self.data.home, card.question.id, card.code)
        if not edit_in_terminal(self.app, path):
            return
        card.set_code(path.read_text(encoding="utf-8"))
        self.notify(_("Your edits are in the editor: Ctrl+R runs the tests."), timeout=3)
