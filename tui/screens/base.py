"""What every mode screen shares: the mode tabs on top, the footer below, data access."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen

from pathway.tui.widgets.footer import FittedFooter
from pathway.tui.widgets.mode_tabs import ModeTabs


class ModeScreen(Screen):
    MODE = "home"

    def compose_tabs(self) -> ComposeResult:
        yield ModeTabs(self.MODE)

    def compose_footer(self) -> ComposeResult:
        yield FittedFooter()

    @property
    def data(self):
        """The app's loaded data, or None while it is still loading."""
        return self.app.data
