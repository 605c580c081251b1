"""One question on screen: shows it, takes the answer, then shows feedback and takes the rating.

The card never grades and never writes the database: it posts `Submitted` with
the learner's answer, the screen grades (code in a thread worker) and calls
`show_feedback`, and the card posts `Rated` when a rating is chosen. With
`feedback=False` (mock interviews) it stops after `Submitted`.
"""

from __future__ import annotations

import random
import re
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

TYPE_NAMES = {
    "single": "single choice",
    "multi": "multiple answers",
    "numeric": "number",
    "recall": "recall",
    "order": "put in order",
    "code": "code exercise",
    "design": "system design",
}
RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
SOLUTION_AFTER_TRIES = 3
_CODE = re.compile(r"`([^`]+)`")


def inline(text: str) -> str:
    """Escape text for markup, showing `code` spans in bold accent."""
    return _CODE.sub(lambda m: f"[b $accent]{m.group(1)}[/]", escape(text))


def shuffled_order(question) -> list[int]:
    """Item indices in a stable shuffled order that is not already the answer."""
    indices = list(range(len(question.items)))
    rng = random.Random(question.id)
    for _ in range(10):
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
        Binding("enter", "submit", "Submit"),
        Binding("space", "reveal", "Reveal"),
        Binding("h", "hint", "Hint"),
        Binding("up", "cursor(-1)", show=False),
        Binding("down", "cursor(1)", show=False),
        Binding("shift+up,K", "move(-1)", "Move ↑", key_display="⇧↑"),
        Binding("shift+down,J", "move(1)", "Move ↓", key_display="⇧↓"),
        Binding("ctrl+r", "run_tests", "Run tests", priority=True),
        Binding("i", "edit", "Edit"),
        Binding("e", "external_editor", "$EDITOR"),
    ]

    phase: reactive[str] = reactive("answering")
    """answering, grading (code tests running), feedback (rate 1-4), or done."""

    def __init__(self, question, language: str = "en", *, feedback: bool = True, rate_only: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.question = question
        self.language = language
        self.feedback = feedback
        self.rate_only = rate_only  # a mock's recall item at the end: model answer shown, rate it
        self.kind = question.type
        self.chosen: set[int] = set()
        self.order = shuffled_order(question) if self.kind == "order" else []
        self.cursor = 0
        self.hints_used = 0
        self.tries = 0
        self.suggested: int | None = None
        self.verdict = ""  # e.g. "✓ Right." shown above the rating
        self.shown_at = time.monotonic()

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
            yield Static(
                f"[dim]W{q.week:02d} · topic {q.topic} · {q.difficulty} · {TYPE_NAMES[self.kind]} · {q.id}[/]",
                classes="q-meta",
            )
            yield Markdown(self.t(q.prompt), classes="q-prompt")
            yield Static("", id="q-body")
            if self.kind == "numeric":
                unit = f" ({q.unit})" if q.unit else ""
                yield Input(placeholder=f"your answer{unit}, then Enter", id="q-number")
            yield Static("", id="q-result")
            if self.kind == "code":
                yield TextArea.code_editor(q.starter, language="python", id="q-code", soft_wrap=False)
            yield Static("", id="q-hints")
            yield Markdown("", id="q-feedback")
        yield Static("", id="q-rate")

    def on_mount(self) -> None:
        self.shown_at = time.monotonic()
        self.query_one("#q-feedback").display = False
        if self.rate_only:
            self.reveal_model_answer()
        self.draw_body()
        self.focus_input()

    def focus_input(self) -> None:
        if self.kind == "numeric" and self.phase == "answering":
            self.query_one("#q-number", Input).focus()
        elif self.kind == "code" and self.phase == "answering":
            self.query_one("#q-code", TextArea).focus()
        else:
            self.focus()

    # --- drawing ---------------------------------------------------------------------

    def draw_body(self) -> None:
        q = self.question
        lines: list[str] = []
        reviewed = self.phase in ("feedback", "done") and self.feedback
        if self.kind in ("single", "multi"):
            how = "one answer" if self.kind == "single" else "every right answer"
            if not reviewed:
                lines.append(f"[dim]Press 1–{len(q.choices)} to choose {how}, Enter to submit.[/]")
            for i, choice in enumerate(q.choices):
                mark = "●" if i in self.chosen else "○"
                if self.kind == "multi":
                    mark = "■" if i in self.chosen else "□"
                text = f"{mark} [b]{i + 1}[/] {inline(self.t(choice.text))}"
                if reviewed:
                    verdict = "[green]✓[/]" if choice.correct else "[red]✗[/]"
                    text = f"{verdict} {text}\n     [dim]{inline(self.t(choice.why))}[/]"
                elif i in self.chosen:
                    text = f"[reverse]{text}[/]"
                lines.append(text)
        elif self.kind == "order":
            if not reviewed:
                lines.append("[dim]↑↓ pick an item, Shift+↑↓ (or K/J) move it, Enter to submit.[/]")
            for row, index in enumerate(self.order):
                item = q.items[index]
                text = f"{row + 1}. {inline(self.t(item.text))}"
                if reviewed:
                    text += f"  [dim](position {item.position})[/]"
                elif row == self.cursor:
                    text = f"[reverse]{text}[/]"
                lines.append(text)
        elif self.kind in ("recall", "design") and self.phase == "answering":
            if self.feedback:
                lines.append("[dim]Answer out loud or on paper, then Space shows the model answer.[/]")
            else:
                lines.append("[dim]Answer out loud or on paper, then Space moves on; you rate it at the end.[/]")
        elif self.kind == "code" and self.phase == "answering":
            lines.append(
                f"[dim]Ctrl+R runs the tests; after {SOLUTION_AFTER_TRIES} tries the solution shows. "
                "Esc leaves the editor (then h hint, e $EDITOR, i back in).[/]"
            )
        self.query_one("#q-body", Static).update("\n".join(lines))

    def draw_hints(self) -> None:
        hints = self.question.hints[: self.hints_used]
        text = "\n".join(f"[b $warning]Hint {i + 1}:[/] {inline(self.t(h))}" for i, h in enumerate(hints))
        self.query_one("#q-hints", Static).update(text)

    def draw_rating(self) -> None:
        bar = self.query_one("#q-rate", Static)
        bar.display = self.phase == "feedback"
        if self.phase != "feedback":
            return
        parts = []
        for n, name in RATINGS.items():
            part = f"[b]{n}[/] {name}"
            parts.append(f"[reverse]{part}[/]" if n == self.suggested else part)
        tail = "  [dim]Enter takes the suggestion[/]" if self.suggested else ""
        verdict = f"{self.verdict}\n" if self.verdict else ""
        bar.update(f"{verdict}Rate:  " + "   ".join(parts) + tail)

    def reveal_model_answer(self) -> None:
        q = self.question
        rubric = "\n".join(f"- {self.t(point)}" for point in q.rubric)
        self.show_markdown(f"**Model answer**\n\n{self.t(q.model_answer)}\n\n**It should mention**\n\n{rubric}\n\n{self.t(q.explanation)}")
        self.phase = "feedback"
        self.suggested = None
        self.verdict = "[dim]How well did your answer match? 1 forgot · 2 hard · 3 good · 4 easy[/]"
        self.draw_body()
        self.draw_rating()

    def show_markdown(self, text: str) -> None:
        feedback = self.query_one("#q-feedback", Markdown)
        feedback.display = True
        feedback.update(text)

    # --- what the screen calls ------------------------------------------------------------

    def show_feedback(self, correct: bool, suggested: int, detail: str = "", memory: str = "") -> None:
        """After grading: mark the answer, explain every option, suggest a rating."""
        q = self.question
        self.verdict = "[b $success]✓ Right.[/]" if correct else "[b $error]✗ Not quite.[/]"
        if detail:
            self.verdict += f" [dim]{escape(detail)}[/]"
        parts = []
        if self.kind == "numeric":
            unit = f" {q.unit}" if q.unit else ""
            parts.append(f"Answer: **{q.answer:g}{unit}** (±{q.tolerance:g})")
        if self.kind == "code":
            parts.append("Solution:\n\n```python\n" + q.solution.rstrip() + "\n```")
            for variant in q.buggy_variants:
                parts.append(f"A common bug: {self.t(variant.why)}")
        parts.append(self.t(q.explanation))
        if q.references:
            parts.append("Read more: " + "; ".join(r.title for r in q.references))
        if memory:
            parts.append(f"*{memory}*")
        self.show_markdown("\n\n".join(parts))
        self.suggested = suggested
        self.phase = "feedback"
        self.draw_body()
        self.draw_rating()
        self.focus()
        if self.kind == "code":  # the editor would fill the view: the solution takes its place
            self.query_one("#q-code").display = False

    def show_test_result(self, result, *, can_retry: bool) -> None:
        """A code run that did not pass: which tests failed and why; the editor stays open."""
        colour = "$success" if result.passed else "$error"
        lines = [f"[b {colour}]{escape(result.summary())}[/]  [dim]try {self.tries}[/]"]
        if result.status not in ("passed", "failed"):
            lines.append(escape(result.message))
        for test in result.tests:
            mark = "[green]✓[/]" if test.passed else "[red]✗[/]"
            lines.append(f"{mark} {escape(test.name)}" + (f"  [dim]{escape(test.message)}[/]" if test.message else ""))
        if result.output.strip():
            lines.append("[dim]output:[/] " + escape(result.output.strip().splitlines()[-1]))
        left = SOLUTION_AFTER_TRIES - self.tries
        if can_retry and left > 0:
            lines.append(f"[dim]{left} more {'try' if left == 1 else 'tries'} before the solution shows.[/]")
        self.query_one("#q-result", Static).update("\n".join(lines))
        self.phase = "answering"

    # --- keys --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        answering = self.phase == "answering" and not self.rate_only
        kind = self.kind
        if action == "submit":
            return (answering and kind not in ("recall", "design", "code")) or (self.phase == "feedback" and self.suggested is not None)
        if action == "reveal":
            return answering and kind in ("recall", "design")
        if action == "hint":
            return answering and self.hints_used < len(self.question.hints)
        if action == "move":
            return answering and kind == "order"
        if action in ("run_tests", "edit", "external_editor"):
            return answering and kind == "code"
        return True

    def action_number(self, n: int) -> None:
        if self.phase == "feedback":
            if n in RATINGS:
                self.rate(n)
            return
        if self.phase != "answering" or self.kind not in ("single", "multi"):
            return
        index = n - 1
        if index >= len(self.question.choices):
            return
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
                self.notify("Choose with the number keys first.", timeout=2)
                return
            answer = next(iter(self.chosen)) if self.kind == "single" else sorted(self.chosen)
            self.submit(answer)
        elif self.kind == "order":
            self.submit(list(self.order))
        elif self.kind == "numeric":
            self.submit_number()

    @on(Input.Submitted, "#q-number")
    def submit_number(self) -> None:
        from pathway.quiz.grading import AnswerError, parse_number

        text = self.query_one("#q-number", Input).value
        try:
            parse_number(text, self.question.unit)
        except AnswerError:
            self.notify(f"{text!r} is not a number. Try e.g. 4096, 1,024 or 3e-4.", severity="warning", timeout=3)
            return
        self.submit(text)

    def action_run_tests(self) -> None:
        if self.phase != "answering":
            return
        self.tries += 1
        self.phase = "grading"
        self.query_one("#q-result", Static).update("[dim]Running the tests…[/]")
        self.submit(self.code)

    def action_edit(self) -> None:
        self.query_one("#q-code", TextArea).focus()

    def action_external_editor(self) -> None:
        self.post_message(self.EditExternally(self))

    def set_code(self, code: str) -> None:
        self.query_one("#q-code", TextArea).text = code

    def on_key(self, event) -> None:
        # Esc leaves the editor or the number field first; a second Esc reaches the screen.
        if event.key == "escape" and isinstance(self.screen.focused, (TextArea, Input)):
            self.focus()
            event.stop()

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
