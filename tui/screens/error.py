"""A problem the app cannot work around (e.g. a damaged database): say it, offer to quit."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from pathway.i18n import N_, _
from pathway.tui.widgets.footer import FittedFooter


class ErrorScreen(Screen):
    BINDINGS = [Binding("q,escape,enter", "quit", N_("Quit"))]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Static(_("pathway cannot start"), id="error-title")
            yield Static(self.message, id="error-message", markup=False)
        yield FittedFooter()

    def action_quit(self) -> None:
        self.app.exit(return_code=2, message=self.message)
