"""Small modal questions: yes/no, and pick one of a list."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from pathway.i18n import N_, _


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True on y / Enter, False on n / Esc."""

    CSS_PATH = "../quiz.tcss"
    BINDINGS = [
        Binding("y,enter", "answer(True)", N_("Yes")),
        Binding("n,escape,q", "answer(False)", N_("No")),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(self.question)
            yield Static(_("[b]y[/b] yes    [b]n[/b] no"), classes="modal-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PickScreen(ModalScreen[str | None]):
    """Dismisses with the chosen option's id, or None on Esc."""

    CSS_PATH = "../quiz.tcss"
    BINDINGS = [Binding("escape,q", "cancel", N_("Cancel"))]

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(self.title_text)
            yield OptionList(*(Option(label, id=key) for key, label in self.options))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
