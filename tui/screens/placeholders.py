"""Modes whose full screens are built by their own issues; each says what is coming."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from pathway.tui.screens.base import ModeScreen


class _Placeholder(ModeScreen):
    TEXT = ""

    def compose(self) -> ComposeResult:
        yield from self.compose_tabs()
        with Vertical(classes="placeholder"):
            yield Static(self.TEXT)
        yield from self.compose_footer()


class QuizScreen(_Placeholder):
    MODE = "quiz"
    TEXT = "Quiz mode: interview questions with spaced repetition arrive with the question bank."


class LabsScreen(_Placeholder):
    MODE = "labs"
    TEXT = "Labs mode: start PyTorch labs and watch them train. Meanwhile: `pathway lab list`."


class ProgressScreen(_Placeholder):
    MODE = "progress"
    TEXT = "Progress mode: mastery per topic, review heatmap and forecast arrive with the quiz."
