"""The timed mock interview inside the Quiz screen: start it, answer without feedback, self-rate, report.

`MockInterview` is a part of `QuizScreen` (one of its base classes): it uses the screen's
filters, card slot, engine and course. The session logic itself is
`pathway.quiz.mock.MockSession`; this is only its view and controller.
"""

from __future__ import annotations

import time

from textual import on, work
from textual.containers import Vertical
from textual.widgets import ContentSwitcher, Markdown, OptionList, Select
from textual.widgets.option_list import Option

from pathway.i18n import _
from pathway.tui.quiz.question_card import QuestionCard
from pathway.tui.screens.base import ModeScreen

MOCK_SECONDS_PER_QUESTION = 90


class MockInterview(ModeScreen):
    """Mock-interview actions of the Quiz screen (a Screen subclass so that Textual sees its @on handlers)."""

    def start_mock(self) -> None:
        from pathway.quiz.grading import correct_answer, grade_any
        from pathway.quiz.mock import MockSession, MockSettings

        chosen = self.filters()
        length = self.query_one("#f-length", Select).value
        settings = MockSettings(
            topics=tuple(chosen["topics"] or ()),
            difficulties=tuple(chosen["difficulties"] or ()),
            length=int(length),
            per_question_s=MOCK_SECONDS_PER_QUESTION,
            seed=int(time.time()),
        )
        try:
            self.mock = MockSession.start(
                self.engine, self.course.questions, settings, grade=grade_any, expected=correct_answer, clock=self.clock
            )
        except ValueError as exc:
            self.notify(_("No mock interview: {reason}.").format(reason=exc), severity="warning", timeout=4)
            return
        self.mode, self.to_rate, self.ratings = "mock", [], {}
        self.query_one("#quiz-views", ContentSwitcher).current = "quiz-session"
        self.show_card(self.mock.current, feedback=False)

    def mock_answered(self) -> int:
        """Answers given so far in the running interview (skipped and timed-out questions are not answers)."""
        return sum(item.status == "answered" for item in self.mock.items) if self.mock else 0

    def mock_answer(self, event: QuestionCard.Submitted) -> None:
        if event.card.question.type == "code":
            self.mock_busy = True
            self.answer_mock_in_worker(event.answer)
            return
        self.mock.answer(event.answer)
        self.after_mock_step()

    @work(thread=True, exclusive=True, exit_on_error=False, group="grade")
    def answer_mock_in_worker(self, code: str) -> None:
        self.mock.answer(code)  # runs the tests: seconds, off the UI thread
        self.app.call_from_thread(self.after_mock_step)

    def after_mock_step(self) -> None:
        self.mock_busy = False
        if self.mock is None:
            return
        if self.mock.current is None:
            self.to_rate = self.mock.needs_self_rating()
            self.next_self_rating()
        else:
            self.show_card(self.mock.current, feedback=False)

    def tick_mock(self) -> None:
        if self.mode != "mock" or self.mock is None or self.mock_busy or self.to_rate or self.mock.report is not None:
            return
        event = self.mock.tick()
        if event is None:
            self.update_bar()
            return
        self.notify(_("Time is up for the interview.") if event == "total" else _("Time is up for that question."), timeout=3)
        self.after_mock_step()

    def next_self_rating(self) -> None:
        if self.to_rate:
            self.show_card(self.course.question(self.to_rate[0]), rate_only=True)
            return
        report = self.mock.finish(self.ratings)
        self.mock = None
        self.mode = None
        self.show_report(report)

    def show_report(self, report: dict) -> None:
        from pathway.tui.quiz.report import report_markdown

        self.show_markdown_report(report_markdown(report, self.course, self.language))

    def show_markdown_report(self, text: str) -> None:
        self.query_one("#card-slot", Vertical).remove_children()
        self.query_one("#mock-list", OptionList).display = False
        self.query_one("#report", Markdown).update(text)
        self.query_one("#quiz-views", ContentSwitcher).current = "quiz-report"
        self.query_one("#quiz-report").focus()

    def show_report_list(self) -> None:
        from pathway.quiz.mock import list_mocks

        listing = self.query_one("#mock-list", OptionList)
        listing.clear_options()
        mocks = list_mocks(self.engine)
        for mock in mocks:
            when = mock.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
            score = f"{mock.percent:g}%" if mock.percent is not None else _("unfinished")
            weak = " · " + _("weak: {topics}").format(topics=", ".join(map(str, mock.weak_topics))) if mock.weak_topics else ""
            questions = _("{n} questions").format(n=mock.length)
            listing.add_option(Option(f"#{mock.id}  {when}  {questions}  {score}{weak}", id=str(mock.id)))
        listing.display = True
        if mocks:
            listing.highlighted = 0  # without a highlight, Enter would select nothing
        self.query_one("#report", Markdown).update(
            _("*Enter opens a report; q goes back.*") if mocks else _("No mock interviews yet.")
        )
        self.query_one("#quiz-views", ContentSwitcher).current = "quiz-report"
        listing.focus()

    @on(OptionList.OptionSelected, "#mock-list")
    def open_report(self, event: OptionList.OptionSelected) -> None:
        from pathway.quiz.mock import mock_report, unfinished_mock
        from pathway.tui.quiz.report import unfinished_markdown

        mock_id = int(event.option.id)
        report = mock_report(self.engine, mock_id)
        if report is not None:
            self.show_report(report)
            return
        summary = unfinished_mock(self.engine, mock_id)
        if summary is None:
            self.notify(_("Mock interview #{id} is no longer in the database.").format(id=mock_id), severity="warning", timeout=4)
            return
        self.show_markdown_report(unfinished_markdown(summary, self.language))
