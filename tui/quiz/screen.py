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
from pathway.i18n import N_, _, ngettext, npgettext
from pathway.tui.quiz.code_exercise import Answer, CodeExercise
from pathway.tui.quiz.mock import MockInterview
from pathway.tui.quiz.question_card import QuestionCard


def reviews_card(engine, question_id: str) -> bool:
    """Whether the question has a schedule (it was rated in Today or Drill since its last reset)."""
    from pathway.quiz import scheduling as reviews

    return reviews.get_card(engine, question_id) is not None

ALL = "all"
LEVELS = {"E": N_("easy"), "M": N_("medium"), "H": N_("hard")}


class QuizScreen(CodeExercise, MockInterview):
    MODE = "quiz"
    CSS_PATH = "../quiz.tcss"
    BINDINGS = [
        Binding("q,escape", "back", N_("Back")),
        Binding("n", "skip", N_("Skip")),
        Binding("x", "forget", N_("Forget")),
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
        self._pending_question: tuple[list[str], str, str | None] | None = None  # practise() before the screen was mounted
        self.back_to: str | None = None  # the mode that started this session (e.g. Learn's k): q returns there
        self.card_seen = False  # the question on screen has a schedule (so Forget means something)

    def compose(self) -> ComposeResult:
        yield from self.compose_tabs()
        with ContentSwitcher(initial="quiz-chooser", id="quiz-views"):
            with Vertical(id="quiz-chooser"):
                yield Static(_("Loading…"), id="quiz-summary")
                yield OptionList(id="quiz-modes")
                with Horizontal(id="quiz-filters"):
                    yield Select([(_("all topics"), ALL)], allow_blank=False, id="f-topic")
                    yield Select([(_("all weeks"), ALL)], allow_blank=False, id="f-week")
                    yield Select(self.level_options(), allow_blank=False, id="f-level")
                    yield Select(self.length_options(), value=10, allow_blank=False, id="f-length")
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

    @staticmethod
    def level_options() -> list[tuple[str, str]]:
        return [(_("any level"), ALL), *((_(name), key) for key, name in LEVELS.items())]

    @staticmethod
    def length_options() -> list[tuple[str, int]]:
        return [(_("mock: {n}").format(n=n), n) for n in (5, 10, 20)]

    def language_changed(self) -> None:
        """Ctrl+L: the chooser, the filters and the question on screen in the new language; answers and session stay."""
        self.refresh_chooser(focus=self.mode is None)
        for selector, options in (("#f-level", self.level_options()), ("#f-length", self.length_options())):
            self._fill(selector, options)
        if self.card is not None and self.card.is_mounted:
            memory = self.memory_text(self.card.question.id) if self.mode != "mock" else ""  # not rated yet: the same state
            self.card.redraw_language(self.language, self.topic_name(self.card.question.topic), memory)
            self.update_bar()

    def on_mount(self) -> None:
        if self.data is not None:
            self.refresh_chooser()
        self.set_interval(0.5, self.tick_mock)
        if self._pending_question:
            self.call_after_refresh(self.practise, *self._pending_question)

    def open_question(self, question_id: str) -> None:
        """Practise one question (Cram: the schedule is not touched), e.g. from the command palette."""
        self.practise([question_id], mode="cram")

    def practise(self, question_ids: list[str], mode: str = "drill", back_to: str | None = None) -> None:
        """Drill (or cram) these questions, e.g. a lesson's check-yourself set; when the
        session ends, return to the `back_to` mode (where the learner came from)."""
        if not self.is_mounted:
            self._pending_question = (question_ids, mode, back_to)
            return
        self._pending_question = None
        known = [qid for qid in question_ids if self.course.question(qid) is not None]
        if not known:
            self.notify(_("No question with id {id!r}.").format(id=question_ids[0]) if question_ids else _("No questions."), severity="warning")
            return
        if self.mode == "mock":
            self.notify(_("Finish or leave the mock interview first (q)."), timeout=3)
            return
        self.mode, self.queue, self.done, self.index = mode, known, 0, 0
        self.back_to = back_to if back_to != self.MODE else None
        self.query_one("#quiz-views", ContentSwitcher).current = "quiz-session"
        self.next_question()

    def on_pathway_app_data_ready(self) -> None:
        self.refresh_chooser()

    def on_screen_resume(self) -> None:  # ModeScreen's handler (the language) runs too
        if self.data is not None and self.mode is None:
            self.refresh_chooser()

    def today(self):
        from pathway.quiz import scheduling as reviews

        weeks = {lesson.id: lesson.meta.week for lesson in self.course.lessons}
        return reviews.today_queue(self.engine, self.course.questions, reviews.study_week(self.engine, weeks))

    def refresh_chooser(self, focus: bool = True) -> None:
        from pathway.quiz.mock import list_mocks

        queue = self.today()
        warning = queue.backlog_warning()
        due = len(queue.reviews)
        summary = (
            "[b]" + _("Today") + "[/b]  "
            + ngettext("{n} due review", "{n} due reviews", due).format(n=due)
            + " · " + _("{new} new from week {week}  ·  {total} questions in the bank").format(
                new=len(queue.new), week=queue.week, total=len(self.course.questions)
            )
            + "\n[dim]" + _("New questions come from the weeks of the lessons you have completed.") + "[/]"
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
                Option(_("Today            {n} to do: due reviews first, then new").format(n=queue.to_go), id="today"),
                Option(_("Drill            the filters below, in order"), id="drill"),
                Option(_("Hardest first    drill the cards you find hardest"), id="hardest"),
                Option(_("Cram             practise freely; the schedule is not touched"), id="cram"),
                Option(_("Mock interview   timed, no feedback until the report"), id="mock"),
                Option(_("Past mock reports ({n})").format(n=len(mocks)), id="reports"),
            ]
        )
        modes.highlighted = highlighted or 0
        topics = sorted({q.topic for q in self.course.questions})
        weeks = sorted({q.week for q in self.course.questions})
        self._fill(
            "#f-topic",
            [(_("all topics"), ALL)] + [(self.topic_name(t), str(t)) for t in topics],
        )
        self._fill("#f-week", [(_("all weeks"), ALL)] + [(_("week {n}").format(n=w), str(w)) for w in weeks])
        if focus:
            modes.focus()

    def topic_name(self, topic_id: int) -> str:
        topic = self.course.topic(topic_id)
        return topic.title.get(self.language) if topic else _("topic {n}").format(n=topic_id)

    def _fill(self, selector: str, options: list[tuple[str, object]]) -> None:
        select = self.query_one(selector, Select)
        value = select.value
        select.set_options(options)
        select.value = value if value in {v for _label, v in options} else options[0][1]

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
        self.back_to = None
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
        language = self.language
        self.card = QuestionCard(
            question, language, topic=self.topic_name(question.topic), feedback=feedback, rate_only=rate_only,
            rng=self.app.choice_rng,
        )
        self.card_seen = reviews_card(self.engine, question.id)
        slot.mount(self.card)
        self.update_bar()
        self.refresh_bindings()

    def update_bar(self) -> None:
        bar = self.query_one("#quiz-bar", Static)
        if self.mode == "mock" and self.mock is not None:
            if self.to_rate:
                bar.update("[b]" + _("Mock interview") + "[/b] · " + _("rate your recall answers: {n} left").format(n=len(self.to_rate)))
                return
            total = len(self.mock.questions)
            left_q, left_all = self.mock.question_time_left(), self.mock.total_time_left()
            bar.update(
                "[b]" + _("Mock interview") + "[/b] · "
                + _("question {n}/{total} · [b]{left}[/b] for this one · {left_all} in all").format(
                    n=min(self.mock.index + 1, total), total=total, left=clock(left_q), left_all=clock(left_all)
                )
            )
            return
        if self.mode == "today":
            bar.update(self.today_bar())
            return
        name = _("Drill") if self.mode == "drill" else _("Cram (schedule untouched)")
        where = _("question {n} of {total} · {rated} rated").format(n=self.index + 1, total=len(self.queue), rated=self.done)
        bar.update(f"[b]{name}[/b] · {where}")

    def today_bar(self) -> str:
        """Done and to go, with what "to go" is made of: a new card rated Good comes back
        for a second look minutes later, so the count falls only when a card is done for today."""
        queue = self.today()
        parts = [
            (len(queue.reviews), npgettext("cards due", "{n} review", "{n} reviews", len(queue.reviews))),
            (len(queue.new), _("{n} new")),
            (len(queue.learning_soon), _("{n} back in a few minutes")),
        ]
        shown = [words.format(n=n) for n, words in parts if n]
        detail = f": {' · '.join(shown)}" if shown else ""
        return "[b]" + _("Today") + "[/b] · " + _("{done} done · {to_go} to go").format(done=self.done, to_go=queue.to_go) + detail

    def end_session(self, finished: bool = False, message: str | None = None) -> None:
        done, mode, back_to = self.done, self.mode, self.back_to
        self.mode = None
        self.card = None
        self.back_to = None
        self.query_one("#card-slot", Vertical).remove_children()
        self.query_one("#quiz-views", ContentSwitcher).current = "quiz-chooser"
        self.refresh_chooser()
        if mode is not None:
            if message is None:
                ending = _("Nothing left in this session.") if finished else _("Every rating so far is saved.")
                message = ngettext("{n} question answered.", "{n} questions answered.", done).format(n=done) + " " + ending
            self.notify(message, timeout=4)
        if back_to is not None:
            self.app.switch_mode(back_to)  # where the session was started from (e.g. the lesson)

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
            return _("A new question: this answer starts its schedule.")
        return _("Memory: difficulty {difficulty:.1f}/10 · stability {stability:.1f} d · recall now {recall:.0%} · {reviews}, {lapses}").format(
            difficulty=state.difficulty,
            stability=state.stability,
            recall=state.retrievability,
            reviews=ngettext("{n} review", "{n} reviews", state.reviews).format(n=state.reviews),
            lapses=ngettext("{n} lapse", "{n} lapses", state.lapses).format(n=state.lapses),
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
            self.app.write_failed(_("Your rating"), exc)
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

    def action_back(self) -> None:
        if self.mode is None:
            if self.query_one("#quiz-views", ContentSwitcher).current == "quiz-chooser":
                self.app.action_mode("home")
            else:  # a report or the list of reports
                self.end_session()
            return
        question = self.leave_question()
        if question is None:
            self.leave_session()
            return
        from pathway.tui.screens.confirm import ConfirmScreen

        self.app.push_screen(ConfirmScreen(question), lambda yes: self.leave_session() if yes else None)

    def leave_question(self) -> str | None:
        """What to ask before leaving the session, or None when nothing is at stake."""
        card = self.card
        unrated = card is not None and card.phase == "feedback" and not card.rate_only and self.mode != "mock"
        if self.mode == "mock" and self.mock is not None and self.mock.report is None:
            answered = self.mock_answered()
            total = len(self.mock.questions)
            if answered:
                return ngettext(
                    "Leave the mock interview? {n} answer of {total} given so far is saved, but an interview cannot be resumed: it stays unfinished, without a score.",
                    "Leave the mock interview? {n} answers of {total} given so far are saved, but an interview cannot be resumed: it stays unfinished, without a score.",
                    answered,
                ).format(n=answered, total=total)
            return _("Leave the mock interview? Nothing is answered yet, and an interview cannot be resumed: it stays unfinished, without a score.")
        if unrated:
            return _("Leave without rating this answer? The answer on screen is not saved until you rate it (1–4).")
        if self.mode in ("drill", "cram") and self.done and self.index < len(self.queue):
            left = len(self.queue) - self.index
            if self.mode == "drill":
                text = _("Leave this drill? {rated} so far are saved; the other {left} questions are not asked.")
            else:
                text = _("Leave this cram session? {rated} so far are saved; the other {left} questions are not asked.")
            return text.format(rated=ngettext("{n} rating", "{n} ratings", self.done).format(n=self.done), left=left)
        return None

    def leave_session(self) -> None:
        if self.mode is None:
            return  # the session ended while the question was open (a mock's time ran out)
        if self.mode == "mock" and self.mock is not None and self.mock.report is None:
            answered, total = self.mock_answered(), len(self.mock.questions)
            self.mock = None
            self.end_session(
                message=ngettext(
                    "Mock interview left after {n} answer of {total}; saved as unfinished.",
                    "Mock interview left after {n} answers of {total}; saved as unfinished.",
                    answered,
                ).format(n=answered, total=total),
            )
            return
        self.end_session()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "skip":  # Today has no skip: its order is the schedule's
            return self.mode in ("drill", "cram", "mock") and not self.to_rate
        if action == "forget":  # only a question with a schedule has something to forget
            return self.mode in ("today", "drill", "cram") and self.card is not None and self.card_seen
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
                self.app.write_failed(_("Forgetting the question"), exc)
                return
            self.notify(_("{id} is new again.").format(id=card.question.id), timeout=3)
            if self.mode in ("drill", "cram"):
                self.index += 1
            self.next_question()

        self.app.push_screen(
            ConfirmScreen(_("Forget your progress on [b]{id}[/b]? It becomes a new question; the answer history stays.").format(id=card.question.id)),
            forget,
        )
