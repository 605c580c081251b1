"""Quiz: Today, Drill, Cram and Mock interview over the question bank.

The session view and controller: the chooser, the card on screen, ratings. Every
rating is committed the moment it is given (`pathway.quiz.scheduling.record_review`).
Code exercises (`code_exercise.py`) and the mock interview (`mock.py`) are the
screen's other two parts.
"""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, Markdown, OptionList, Select, Static
from textual.widgets.option_list import Option

from pathway.durations import clock
from pathway.tui.quiz.code_exercise import Answer, CodeExercise
from pathway.tui.quiz.mock import MockInterview
from pathway.tui.quiz.question_card import QuestionCard
from pathway.words import count

ALL = "all"


class QuizScreen(CodeExercise, MockInterview):
    MODE = "quiz"
    CSS_PATH = "../quiz.tcss"
    BINDINGS = [
        Binding("q,escape", "back", "Back"),
        Binding("n", "skip", "Skip"),
        Binding("x", "forget", "Forget"),
    ]
    clock = staticmethod(time.monotonic)  # the mock interview's clock; tests replace it

    def __init__(self) -> None:
        super().__init__()
        self.mode: str | None = None  # today | drill | cram | mock, while a session runs
        self.queue: list[str] = []
        self.index = 0  # drill/cram: position in the queue
        self.done = 0  # answers rated in this session
        self.card: QuestionCard | None = None
        self.pending: Answer | None = None
        self.mock = None  # db.mock.MockSession
        self.mock_busy = False
        self.to_rate: list[str] = []  # mock recall items waiting for a self-rating
        self.ratings: dict[str, int] = {}
        self._pending_question: tuple[list[str], str] | None = None  # practise() before the screen was mounted

    def compose(self) -> ComposeResult:
        yield from self.compose_tabs()
        with ContentSwitcher(initial="quiz-chooser", id="quiz-views"):
            with Vertical(id="quiz-chooser"):
                yield Static("Loading…", id="quiz-summary")
                yield OptionList(id="quiz-modes")
                with Horizontal(id="quiz-filters"):
                    yield Select([("all topics", ALL)], allow_blank=False, id="f-topic")
                    yield Select([("all weeks", ALL)], allow_blank=False, id="f-week")
                    yield Select([("any level", ALL), ("E", "E"), ("M", "M"), ("H", "H")], allow_blank=False, id="f-level")
                    yield Select([(f"mock: {n}", n) for n in (5, 10, 20)], value=10, allow_blank=False, id="f-length")
            with Vertical(id="quiz-session"):
                yield Static("", id="quiz-bar")
                yield Vertical(id="card-slot")
            with VerticalScroll(id="quiz-report"):
                yield OptionList(id="mock-list")
                yield Markdown("", id="report")
        yield from self.compose_footer()

    # --- data ---------------------------------------------------------------------

    @property
    def course(self):
        return self.data.course

    @property
    def engine(self):
        return self.data.engine

    @property
    def language(self) -> str:
        from pathway.db import progress

        return progress.get_learner(self.engine).language

    def on_mount(self) -> None:
        if self.data is not None:
            self.refresh_chooser()
        self.set_interval(0.5, self.tick_mock)
        if self._pending_question:
            self.call_after_refresh(self.practise, *self._pending_question)

    def open_question(self, question_id: str) -> None:
        """Practise one question (Cram: the schedule is not touched), e.g. from the command palette."""
        self.practise([question_id], mode="cram")

    def practise(self, question_ids: list[str], mode: str = "drill") -> None:
        """Drill (or cram) these questions, e.g. a lesson's check-yourself set."""
        if not self.is_mounted:
            self._pending_question = (question_ids, mode)
            return
        self._pending_question = None
        known = [qid for qid in question_ids if self.course.question(qid) is not None]
        if not known:
            self.notify(f"No question with id {question_ids[0]!r}." if question_ids else "No questions.", severity="warning")
            return
        if self.mode == "mock":
            self.notify("Finish or leave the mock interview first (q).", timeout=3)
            return
        self.mode, self.queue, self.done, self.index = mode, known, 0, 0
        self.query_one("#quiz-views", ContentSwitcher).current = "quiz-session"
        self.next_question()

    def on_pathway_app_data_ready(self) -> None:
        self.refresh_chooser()

    def on_screen_resume(self) -> None:
        if self.data is not None and self.mode is None:
            self.refresh_chooser()

    def today(self):
        from pathway.db import progress
        from pathway.quiz import scheduling as reviews

        weeks = {lesson.id: lesson.meta.week for lesson in self.course.lessons}
        week = reviews.current_week(progress.get_learner(self.engine), weeks)
        return reviews.today_queue(self.engine, self.course.questions, week)

    def refresh_chooser(self) -> None:
        from pathway.quiz.mock import list_mocks

        queue = self.today()
        warning = queue.backlog_warning()
        summary = (
            f"[b]Today[/b]  {count(len(queue.reviews), 'due review')} · {len(queue.new)} new from week {queue.week}"
            f"  ·  {len(self.course.questions)} questions in the bank"
        )
        if warning:
            summary += f"\n[b $warning]⚠[/] {warning}"
        self.query_one("#quiz-summary", Static).update(summary)
        mocks = list_mocks(self.engine)
        modes = self.query_one("#quiz-modes", OptionList)
        highlighted = modes.highlighted
        modes.clear_options()
        modes.add_options(
            [
                Option(f"Today            {len(queue.question_ids)} to do: due reviews first, then new", id="today"),
                Option("Drill            the filters below, in order", id="drill"),
                Option("Hardest first    drill the cards you find hardest", id="hardest"),
                Option("Cram             practise freely; the schedule is not touched", id="cram"),
                Option("Mock interview   timed, no feedback until the report", id="mock"),
                Option(f"Past mock reports ({len(mocks)})", id="reports"),
            ]
        )
        modes.highlighted = highlighted or 0
        topics = sorted({q.topic for q in self.course.questions})
        weeks = sorted({q.week for q in self.course.questions})
        self._fill(
            "#f-topic",
            [("all topics", ALL)] + [(f"{t} {self.course.topic(t).slug if self.course.topic(t) else ''}", str(t)) for t in topics],
        )
        self._fill("#f-week", [("all weeks", ALL)] + [(f"week {w}", str(w)) for w in weeks])
        modes.focus()

    def _fill(self, selector: str, options: list[tuple[str, str]]) -> None:
        select = self.query_one(selector, Select)
        value = select.value
        select.set_options(options)
        select.value = value if value in {v for _, v in options} else ALL

    def filters(self) -> dict:
        def value(selector: str):
            chosen = self.query_one(selector, Select).value
            return None if chosen in (ALL, Select.BLANK) else chosen

        topic, week, level = value("#f-topic"), value("#f-week"), value("#f-level")
        return {
            "topics": [int(topic)] if topic else None,
            "weeks": [int(week)] if week else None,
            "difficulties": [level] if level else None,
        }

    # --- starting sessions ----------------------------------------------------------------

    @on(OptionList.OptionSelected, "#quiz-modes")
    def start(self, event: OptionList.OptionSelected) -> None:
        from pathway.quiz import scheduling as reviews

        choice = event.option.id
        if choice == "reports":
            self.show_report_list()
            return
        if choice == "mock":
            self.start_mock()
            return
        self.done = self.index = 0
        if choice == "today":
            self.mode, self.queue = "today", []
        else:
            self.mode = "cram" if choice == "cram" else "drill"
            self.queue = reviews.drill_queue(self.engine, self.course.questions, hardest_first=choice == "hardest", **self.filters())
        self.query_one("#quiz-views", ContentSwitcher).current = "quiz-session"
        self.next_question()

    def next_question(self) -> None:
        if self.mode == "today":
            ids = self.today().question_ids
            target = ids[0] if ids else None
        else:
            target = self.queue[self.index] if self.index < len(self.queue) else None
        if target is None:
            self.end_session(finished=True)
            return
        self.show_card(self.course.question(target), feedback=self.mode != "mock")

    def show_card(self, question, *, feedback: bool = True, rate_only: bool = False) -> None:
        slot = self.query_one("#card-slot", Vertical)
        slot.remove_children()
        self.pending = None
        self.card = QuestionCard(question, self.language, feedback=feedback, rate_only=rate_only)
        slot.mount(self.card)
        self.update_bar()

    def update_bar(self) -> None:
        bar = self.query_one("#quiz-bar", Static)
        if self.mode == "mock" and self.mock is not None:
            if self.to_rate:
                bar.update(f"[b]Mock interview[/b] · rate your recall answers: {len(self.to_rate)} left")
                return
            total = len(self.mock.questions)
            left_q, left_all = self.mock.question_time_left(), self.mock.total_time_left()
            bar.update(
                f"[b]Mock interview[/b] · question {min(self.mock.index + 1, total)}/{total}"
                f" · [b]{clock(left_q)}[/b] for this one · {clock(left_all)} in all"
            )
            return
        if self.mode == "today":
            left = len(self.today().question_ids)
            bar.update(f"[b]Today[/b] · {self.done} done · {left} to go")
            return
        name = "Drill" if self.mode == "drill" else "Cram (schedule untouched)"
        bar.update(f"[b]{name}[/b] · question {self.index + 1} of {len(self.queue)} · {self.done} rated")

    def end_session(self, finished: bool = False) -> None:
        done, mode = self.done, self.mode
        self.mode = None
        self.card = None
        self.query_one("#card-slot", Vertical).remove_children()
        self.query_one("#quiz-views", ContentSwitcher).current = "quiz-chooser"
        self.refresh_chooser()
        if mode is not None:
            ending = "Nothing left in this session." if finished else "Every rating so far is saved."
            self.notify(f"{count(done, 'question')} answered. {ending}", timeout=4)

    # --- answering ------------------------------------------------------------------------

    @on(QuestionCard.Submitted)
    def answered(self, event: QuestionCard.Submitted) -> None:
        event.stop()
        question = event.card.question
        if self.mode == "mock":
            self.mock_answer(event)
            return
        if question.type == "code":
            self.grade_code(event.card, event.answer, event.seconds, event.hints_used)
            return
        from pathway.quiz.grading import grade, suggest_rating

        result = grade(question, event.answer)
        self.pending = Answer(event.answer, result.correct, event.seconds)
        rating = suggest_rating(result.correct, event.seconds, question.difficulty, question.type, event.hints_used)
        event.card.show_feedback(result.correct, rating, result.detail, self.memory_text(question.id))

    def memory_text(self, question_id: str) -> str:
        from pathway.quiz import scheduling as reviews

        state = reviews.memory_state(self.engine, question_id)
        if state is None:
            return "A new question: this answer starts its schedule."
        return (
            f"Memory: difficulty {state.difficulty:.1f}/10 · stability {state.stability:.1f} d · "
            f"recall now {state.retrievability:.0%} · {count(state.reviews, 'review')}, {count(state.lapses, 'lapse')}"
        )

    @on(QuestionCard.Rated)
    def rated(self, event: QuestionCard.Rated) -> None:
        event.stop()
        if self.mode == "mock":
            self.ratings[event.question_id] = event.rating
            self.to_rate.pop(0)
            self.next_self_rating()
            return
        from pathway.quiz import scheduling as reviews

        from pathway.db.failures import DatabaseWriteError

        given = self.pending or Answer(None, None, time.monotonic() - event.card.shown_at)
        try:
            reviews.record_review(
                self.engine,
                event.question_id,
                event.rating,
                self.mode or "drill",
                given.correct,
                given.answer,
                int(given.seconds * 1000),
            )
        except DatabaseWriteError as exc:  # stay on the question: rating it again retries the save
            self.app.write_failed("Your rating", exc)
            return
        self.done += 1
        self.index += 1
        self.next_question()

    def action_skip(self) -> None:
        if self.mode == "mock" and self.mock is not None and not self.to_rate:
            self.mock.skip()
            self.after_mock_step()
        elif self.mode in ("drill", "cram"):
            self.index += 1
            self.next_question()
        elif self.mode == "today":
            self.notify("Today has no skip: rate it Again to see it again soon.", timeout=3)

    def action_back(self) -> None:
        if self.mode is None and self.query_one("#quiz-views", ContentSwitcher).current == "quiz-chooser":
            self.app.action_mode("home")
            return
        if self.mode == "mock" and self.mock is not None and self.mock.report is None:
            self.notify("The interview was left unfinished; the answers given so far are saved.", timeout=4)
            self.mock = None
        self.end_session()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "skip":
            return self.mode is not None and not self.to_rate
        if action == "forget":
            return self.mode in ("today", "drill", "cram") and self.card is not None
        return True

    def action_forget(self) -> None:
        """Reset the question on screen: it becomes new again (after a yes)."""
        from pathway.tui.screens.confirm import ConfirmScreen

        card = self.card
        if card is None or self.mode not in ("today", "drill", "cram"):
            return

        def forget(yes: bool | None) -> None:
            if not yes:
                return
            from pathway.quiz import scheduling as reviews

            from pathway.db.failures import DatabaseWriteError

            try:
                reviews.reset_questions(self.engine, [card.question.id])
            except DatabaseWriteError as exc:
                self.app.write_failed("Forgetting the question", exc)
                return
            self.notify(f"{card.question.id} is new again.", timeout=3)
            if self.mode in ("drill", "cram"):
                self.index += 1
            self.next_question()

        self.app.push_screen(
            ConfirmScreen(f"Forget your progress on [b]{card.question.id}[/b]? It becomes a new question; the answer history stays."),
            forget,
        )
