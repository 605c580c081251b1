"""One question on screen: shows it, takes the answer, then shows feedback and takes the rating.

The card never grades and never writes the database: it posts `Submitted` with
the learner's answer, the screen grades (code in a thread worker) and calls
`show_feedback`, and the card posts `Rated` when a rating is chosen. With
`feedback=False` (mock interviews) it stops after `Submitted`.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Markdown, Static, TextArea

from pathway.i18n import N_, _, ngettext
from pathway.tui.quiz.code_editor import CodeEditor
from pathway.tui.quiz.markup import inline

TYPE_NAMES = {
    "single": N_("single choice"),
    "multi": N_("multiple answers"),
    "numeric": N_("number"),
    "recall": N_("recall"),
    "order": N_("put in order"),
    "code": N_("code exercise"),
    "design": N_("system design"),
}
LEVEL_NAMES = {"E": N_("easy"), "M": N_("medium"), "H": N_("hard")}
RATINGS = {1: N_("Again"), 2: N_("Hard"), 3: N_("Good"), 4: N_("Easy")}
SOLUTION_AFTER_TRIES = 3


def choice_order(question, rng: random.Random) -> list[int]:
    """Choice ids (their index in the file) in the order shown: fresh at every presentation.

    Answers are stored and graded by choice id, so a new order changes nothing in the
    schedule or an export; it only stops a learner from remembering "it was the third one".
    """
    order = list(range(len(question.choices)))
    rng.shuffle(order)
    return order


def shuffled_order(question) -> list[int]:
    """Item indices in a stable shuffled order that is not already the answer."""
    indices = list(range(len(question.items)))
    rng = random.Random(question.id)
    for _attempt in range(10):
        rng.shuffle(indices)
        positions = [question.items[i].position for i in indices]
        if positions != sorted(positions):
            break
    return indices


class QuestionCard(Vertical, can_focus=True):
    """A question of any of the seven types."""

    @dataclass
    class Submitted(Message):
        """Posted when the learner commits an answer (code: each test run)."""

        card: "QuestionCard"
        question_id: str
        answer: Any
        seconds: float
        hints_used: int

    @dataclass
    class Rated(Message):
        """Posted when the learner picks the rating that goes into the schedule."""

        card: "QuestionCard"
        question_id: str
        rating: int

    @dataclass
    class EditExternally(Message):
        """The learner wants the code in $EDITOR; the screen hands the terminal over."""

        card: "QuestionCard"

    BINDINGS = [
        *(Binding(str(n), f"number({n})", show=False) for n in range(1, 6)),
        Binding("enter", "submit", N_("Submit")),
        Binding("space", "reveal", N_("Reveal")),
        Binding("h", "hint", N_("Hint")),
        Binding("up", "cursor(-1)", show=False),
        Binding("down", "cursor(1)", show=False),
        Binding("shift+up,K", "move(-1)", N_("Move ↑"), key_display="⇧↑"),
        Binding("shift+down,J", "move(1)", N_("Move ↓"), key_display="⇧↓"),
        Binding("ctrl+r", "run_tests", N_("Run tests"), priority=True),
        # The editor and the number field are not focused at first, so that keys stay keys:
        # i or Enter goes in, Esc comes out (leave_field; CodeEditor.Left for the editor).
        Binding("i,enter", "edit", N_("Edit"), key_display="i"),
        Binding("i,enter", "type_answer", N_("Type answer"), key_display="i"),
        Binding("escape", "leave_field", N_("Stop typing")),
        Binding("e", "external_editor", "$EDITOR", show=False),  # the card's help line names it
    ]

    phase: reactive[str] = reactive("answering")
    """answering, grading (code tests running), feedback (rate 1-4), or done."""

    def __init__(
        self,
        question,
        language: str = "en",
        *,
        topic: str = "",
        feedback: bool = True,
        rate_only: bool = False,
        rng: random.Random | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.question = question
        self.language = language
        self.topic = topic or _("topic {n}").format(n=question.topic)  # the topic's title, for the header
        self.feedback = feedback
        self.rate_only = rate_only  # a mock's recall item at the end: model answer shown, rate it
        self.kind = question.type
        self.chosen: set[int] = set()  # choice ids, not rows on screen
        self.choice_order = choice_order(question, rng or random.Random()) if self.kind in ("single", "multi") else []
        self.order = shuffled_order(question) if self.kind == "order" else []
        self.cursor = 0
        self.hints_used = 0
        self.tries = 0  # test runs that counted (running the untouched starter does not)
        self.last_run_counted = True
        self.suggested: int | None = None
        self.verdict = ""  # e.g. "✓ Right." shown above the rating
        self.shown_at = time.monotonic()
        self._shown: tuple | None = None  # what the feedback pane shows, to redraw it in another language

    @property
    def code(self) -> str:
        """The learner's code (code exercises)."""
        return self.query_one("#q-code", TextArea).text

    def t(self, text) -> str:
        return text.get(self.language)

    # --- building ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        q = self.question
        with VerticalScroll(id="q-scroll"):
            yield Static(self.meta_line(), classes="q-meta")
            yield Markdown(self.t(q.prompt), classes="q-prompt")
            yield Static("", id="q-body")
            if self.kind == "numeric":
                yield Input(placeholder=self.number_placeholder(), id="q-number")
            yield Static("", id="q-result")
            if self.kind == "code":
                editor = CodeEditor.code_editor(q.starter, language="python", id="q-code", soft_wrap=False)
                editor.border_title = _("your code")
                yield editor
            yield Static("", id="q-hints")
            yield Markdown("", id="q-feedback")
        yield Static("", id="q-rate")

    def meta_line(self) -> str:
        q = self.question
        level = _(LEVEL_NAMES[q.difficulty]) if q.difficulty in LEVEL_NAMES else q.difficulty
        return f"[dim]W{q.week:02d} · {escape(self.topic)} · {level} · {_(TYPE_NAMES[self.kind])} · {q.id}[/]"

    def number_placeholder(self) -> str:
        unit = self.question.unit
        return _("your answer ({unit}), then Enter").format(unit=unit) if unit else _("your answer, then Enter")

    def redraw_language(self, language: str, topic: str, memory: str = "") -> None:
        """Ctrl+L: the same question, in the same state (choices, hints, feedback), in `language`."""
        self.language, self.topic = language, topic
        self.query_one(".q-meta", Static).update(self.meta_line())
        self.query_one(".q-prompt", Markdown).update(self.t(self.question.prompt))
        if self.kind == "numeric":
            self.query_one("#q-number", Input).placeholder = self.number_placeholder()
        if self.kind == "code":
            self.query_one("#q-code", TextArea).border_title = _("your code")
        if self.hints_used:
            self.draw_hints()
        shown = self._shown
        if shown is not None and shown[0] == "model":
            self.reveal_model_answer()
        elif shown is not None and shown[0] == "feedback":
            _kind, correct, detail, _memory = shown
            self.verdict = self.verdict_text(correct, detail)
            self.show_markdown(self.feedback_markdown(memory or _memory))
        self.draw_body()
        self.draw_rating()

    def on_mount(self) -> None:
        self.shown_at = time.monotonic()
        for empty in self.query("#q-feedback, #q-result, #q-hints"):
            empty.display = False
        if self.rate_only:
            self.reveal_model_answer()
        self.draw_body()
        self.draw_rating()
        self.focus()  # not the editor or the number field: q, n, h… must stay keys until i

    @property
    def typing(self) -> bool:
        """The learner is in the editor or the number field (keys are text there)."""
        focused = self.screen.focused
        return isinstance(focused, (TextArea, Input)) and self in focused.ancestors

    def on_descendant_focus(self) -> None:
        self.draw_body()

    def on_descendant_blur(self) -> None:
        self.draw_body()

    # --- drawing ---------------------------------------------------------------------

    def draw_body(self) -> None:
        q = self.question
        lines: list[str] = []
        reviewed = self.phase in ("feedback", "done") and self.feedback
        if self.kind in ("single", "multi"):
            if not reviewed:
                if self.kind == "single":
                    how = _("Press 1–{n} to choose one answer, Enter to submit.")
                else:
                    how = _("Press 1–{n} to choose every right answer, Enter to submit.")
                lines.append("[dim]" + how.format(n=len(q.choices)) + "[/]")
            for row, i in enumerate(self.choice_order):
                choice = q.choices[i]
                mark = "●" if i in self.chosen else "○"
                if self.kind == "multi":
                    mark = "■" if i in self.chosen else "□"
                text = f"{mark} [b]{row + 1}[/] {inline(self.t(choice.text))}"
                if reviewed:  # ✓ the right ones, ✗ only a wrong one that was chosen
                    verdict = "[green]✓[/]" if choice.correct else ("[red]✗[/]" if i in self.chosen else " ")
                    text = f"{verdict} {text}\n     [dim]{inline(self.t(choice.why))}[/]"
                elif i in self.chosen:
                    text = f"[reverse]{text}[/]"
                lines.append(text)
        elif self.kind == "order":
            if not reviewed:
                lines.append("[dim]" + _("↑↓ pick an item, Shift+↑↓ (or K/J) move it, Enter to submit.") + "[/]")
            for row, index in enumerate(self.order):
                item = q.items[index]
                text = f"{row + 1}. {inline(self.t(item.text))}"
                if reviewed:
                    text += "  [dim]" + _("(position {n})").format(n=item.position) + "[/]"
                elif row == self.cursor:
                    text = f"[reverse]{text}[/]"
                lines.append(text)
        elif self.kind in ("recall", "design") and self.phase == "answering":
            if self.feedback:
                lines.append("[dim]" + _("Answer out loud or on paper, then Space shows the model answer.") + "[/]")
            else:
                lines.append("[dim]" + _("Answer out loud or on paper, then Space moves on; you rate it at the end.") + "[/]")
        elif self.kind == "code" and self.phase == "answering":
            if self.is_mounted and self.typing:
                lines.append(_("[b]Editing[/b] [dim]· Ctrl+R runs the tests · Esc leaves the editor (then h hint, q back)[/]"))
            else:
                lines.append(
                    _(
                        "[dim]Press[/] [b]i[/b] [dim]or[/] [b]Enter[/b] [dim]to edit the code here ([/][b]e[/b][dim] in $EDITOR), "
                        "Ctrl+R to run the tests; after {n} tries the solution shows.[/]"
                    ).format(n=SOLUTION_AFTER_TRIES)
                )
        elif self.kind == "numeric" and self.phase == "answering":
            if self.is_mounted and self.typing:
                lines.append(_("[b]Typing[/b] [dim]· Enter submits · Esc leaves the field[/]"))
            else:
                lines.append(_("[dim]Press[/] [b]i[/b] [dim]or[/] [b]Enter[/b] [dim]to type your answer.[/]"))
        self.query_one("#q-body", Static).update("\n".join(lines))

    def draw_hints(self) -> None:
        hints = self.question.hints[: self.hints_used]
        label = _("Hint {n}:")
        text = "\n".join(f"[b $warning]{label.format(n=i + 1)}[/] {inline(self.t(h))}" for i, h in enumerate(hints))
        self.show_text("#q-hints", text)

    def draw_rating(self) -> None:
        bar = self.query_one("#q-rate", Static)
        bar.display = self.phase == "feedback"
        if self.phase != "feedback":
            return
        parts = []
        for n, name in RATINGS.items():
            part = f"[b]{n}[/] {_(name)}"
            parts.append(f"[reverse]{part}[/]" if n == self.suggested else part)
        tail = "  [dim]" + _("Enter takes the suggestion") + "[/]" if self.suggested else ""
        verdict = f"{self.verdict}\n" if self.verdict else ""
        bar.update(verdict + _("Rate:") + "  " + "   ".join(parts) + tail)

    def reveal_model_answer(self) -> None:
        q = self.question
        rubric = "\n".join(f"- {self.t(point)}" for point in q.rubric)
        model, mention = _("Model answer"), _("It should mention")
        self.show_markdown(f"**{model}**\n\n{self.t(q.model_answer)}\n\n**{mention}**\n\n{rubric}\n\n{self.t(q.explanation)}")
        self._shown = ("model",)
        self.phase = "feedback"
        self.suggested = None
        self.verdict = "[dim]" + _("How well did your answer match the model answer?") + "[/]"
        self.draw_body()
        self.draw_rating()

    def show_text(self, selector: str, text: str) -> None:
        """Update a Static that is hidden while empty (an empty Static still takes a line)."""
        static = self.query_one(selector, Static)
        static.update(text)
        static.display = bool(text)

    def show_markdown(self, text: str) -> None:
        feedback = self.query_one("#q-feedback", Markdown)
        feedback.display = True
        feedback.update(text)

    # --- what the screen calls ------------------------------------------------------------

    def show_feedback(self, correct: bool, suggested: int, detail: str = "", memory: str = "") -> None:
        """After grading: mark the answer, explain every option, suggest a rating."""
        self._shown = ("feedback", correct, detail, memory)
        self.verdict = self.verdict_text(correct, detail)
        self.show_markdown(self.feedback_markdown(memory))
        self.suggested = suggested
        self.phase = "feedback"
        self.draw_body()
        self.focus()
        if self.kind == "code":  # the learner's code stays, read-only, above the solution
            editor = self.query_one("#q-code", TextArea)
            editor.read_only = True
            editor.add_class("reviewed")
        self.draw_rating()

    @staticmethod
    def verdict_text(correct: bool, detail: str) -> str:
        verdict = "[b $success]" + _("✓ Right.") + "[/]" if correct else "[b $error]" + _("✗ Not quite.") + "[/]"
        return verdict + (f" [dim]{escape(detail)}[/]" if detail else "")

    def feedback_markdown(self, memory: str) -> str:
        """The answer explained: the right number or the solution, the explanation, sources, the memory line."""
        q = self.question
        parts = []
        if self.kind == "numeric":
            unit = f" {q.unit}" if q.unit else ""
            parts.append(_("Answer: **{answer}** (±{tolerance})").format(answer=f"{q.answer:g}{unit}", tolerance=f"{q.tolerance:g}"))
        if self.kind == "code":
            parts.append("**" + _("Solution") + "**\n\n```python\n" + q.solution.rstrip() + "\n```")
            if q.buggy_variants:  # each `why` is a sentence of its own: a list, not "A common bug: Zeroes…"
                parts.append("**" + _("Common bugs") + "**\n\n" + "\n".join(f"- {self.t(variant.why)}" for variant in q.buggy_variants))
        parts.append(self.t(q.explanation))
        if q.references:
            parts.append(_("Read more:") + " " + "; ".join(r.title for r in q.references))
        if memory:
            parts.append(f"*{memory}*")
        return "\n\n".join(parts)

    def show_test_result(self, result, *, can_retry: bool) -> None:
        """A code run that did not pass: which tests failed and why; the editor stays open."""
        colour = "$success" if result.passed else "$error"
        which = _("try {n}").format(n=self.tries) if self.last_run_counted else _("the starter as given: not counted as a try")
        lines = [f"[b {colour}]{escape(result.summary())}[/]  [dim]{which}[/]"]
        if result.status not in ("passed", "failed") and result.message != result.summary():
            lines.append(escape(result.message))  # summary() already is the message for a timeout or crash
        for test in result.tests:
            mark = "[green]✓[/]" if test.passed else "[red]✗[/]"
            lines.append(f"{mark} {escape(test.name)}" + (f"  [dim]{escape(test.message)}[/]" if test.message else ""))
        if result.output.strip():
            lines.append("[dim]" + _("output:") + "[/] " + escape(result.output.strip().splitlines()[-1]))
        left = SOLUTION_AFTER_TRIES - self.tries
        if can_retry and left > 0:
            lines.append("[dim]" + ngettext("{n} more try before the solution shows.", "{n} more tries before the solution shows.", left).format(n=left) + "[/]")
        self.show_text("#q-result", "\n".join(lines))
        self.phase = "answering"

    # --- keys --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        answering = self.phase == "answering" and not self.rate_only
        kind = self.kind
        if action == "submit":  # code and numbers are submitted from their own field (Ctrl+R, Enter)
            return (answering and kind not in ("recall", "design", "code", "numeric")) or (
                self.phase == "feedback" and self.suggested is not None
            )
        if action == "reveal":
            return answering and kind in ("recall", "design")
        if action == "hint":
            return answering and self.hints_used < len(self.question.hints)
        if action == "move":
            return answering and kind == "order"
        if action in ("run_tests", "external_editor"):
            return answering and kind == "code"
        if action == "edit":
            return answering and kind == "code" and not self.typing
        if action == "type_answer":
            return answering and kind == "numeric" and not self.typing
        if action == "leave_field":
            return self.typing
        return True

    def action_number(self, n: int) -> None:
        if self.phase == "feedback":
            if n in RATINGS:
                self.rate(n)
            return
        if self.phase != "answering" or self.kind not in ("single", "multi"):
            return
        if n > len(self.choice_order):
            return
        index = self.choice_order[n - 1]
        if self.kind == "single":
            self.chosen = {index}
        else:
            self.chosen ^= {index}
        self.draw_body()

    def action_cursor(self, step: int) -> None:
        if self.kind == "order" and self.phase == "answering":
            self.cursor = (self.cursor + step) % len(self.order)
            self.draw_body()
        else:
            self.query_one("#q-scroll").scroll_relative(y=step, animate=False)

    def action_move(self, step: int) -> None:
        target = self.cursor + step
        if 0 <= target < len(self.order):
            self.order[self.cursor], self.order[target] = self.order[target], self.order[self.cursor]
            self.cursor = target
            self.draw_body()

    def action_hint(self) -> None:
        self.hints_used += 1
        self.draw_hints()
        self.refresh_bindings()

    def action_reveal(self) -> None:
        if self.feedback:
            self.reveal_model_answer()
            self.focus()
        else:
            self.submit(None)

    def action_submit(self) -> None:
        if self.phase == "feedback":
            if self.suggested is not None:
                self.rate(self.suggested)
            return
        if self.kind in ("single", "multi"):
            if not self.chosen:
                self.notify(_("Choose with the number keys first."), timeout=2)
                return
            answer = next(iter(self.chosen)) if self.kind == "single" else sorted(self.chosen)
            self.submit(answer)
        elif self.kind == "order":
            self.submit(list(self.order))

    @on(Input.Submitted, "#q-number")
    def submit_number(self) -> None:
        from pathway.quiz.grading import AnswerError, parse_number

        text = self.query_one("#q-number", Input).value
        try:
            parse_number(text, self.question.unit)
        except AnswerError:
            self.notify(_("{text!r} is not a number. Try e.g. 4096, 1,024 or 3e-4.").format(text=text), severity="warning", timeout=3)
            return
        self.submit(text)

    def action_run_tests(self) -> None:
        if self.phase != "answering":
            return
        # Running the starter as given shows what the tests check; it is not an attempt.
        self.last_run_counted = self.code.strip() != self.question.starter.strip()
        self.tries += self.last_run_counted
        self.phase = "grading"
        self.show_text("#q-result", "[dim]" + _("Running the tests…") + "[/]")
        self.submit(self.code)

    def action_edit(self) -> None:
        self.query_one("#q-code", TextArea).focus()

    def action_type_answer(self) -> None:
        self.query_one("#q-number", Input).focus()

    def action_external_editor(self) -> None:
        self.post_message(self.EditExternally(self))

    def set_code(self, code: str) -> None:
        self.query_one("#q-code", TextArea).text = code

    # Esc leaves the editor or the number field first; a second Esc reaches the screen.
    def action_leave_field(self) -> None:
        self.focus()

    @on(CodeEditor.Left)
    def left_editor(self, event: CodeEditor.Left) -> None:
        event.stop()
        self.focus()

    # --- messages out -------------------------------------------------------------------------

    def submit(self, answer: Any) -> None:
        seconds = time.monotonic() - self.shown_at
        if self.kind != "code":
            self.phase = "grading" if self.feedback else "done"
        self.post_message(self.Submitted(self, self.question.id, answer, seconds, self.hints_used))

    def rate(self, rating: int) -> None:
        self.phase = "done"
        self.draw_rating()
        self.post_message(self.Rated(self, self.question.id, rating))

    def watch_phase(self) -> None:
        if self.is_mounted:
            self.refresh_bindings()
