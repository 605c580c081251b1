"""What every mode screen shares: the mode tabs on top, the footer below, data access, the language switch."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen

from pathway.i18n import current_language
from pathway.tui.widgets.footer import FittedFooter
from pathway.tui.widgets.mode_tabs import ModeTabs


class ModeScreen(Screen):
    MODE = "home"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.drawn_language = current_language()

    def compose_tabs(self) -> ComposeResult:
        yield ModeTabs(self.MODE)

    def compose_footer(self) -> ComposeResult:
        yield FittedFooter()

    @property
    def data(self):
        """The app's loaded data, or None while it is still loading."""
        return self.app.data

    def redraw_language(self) -> None:
        """The interface language changed: redraw the words in place, keeping what is on screen where it is."""
        self.drawn_language = current_language()
        for widget in self.query("ModeTabs, FittedFooter"):
            widget.refresh(recompose=True)
        if self.data is not None:
            self.language_changed()

    def language_changed(self) -> None:
        """Each mode redraws its own text (lesson, question, cards); the tabs and footer are done already."""

    def on_screen_resume(self) -> None:
        if self.drawn_language != current_language():  # switched while this mode was in the background
            self.redraw_language()
