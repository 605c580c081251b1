"""The bar at the top: the five modes, the current one highlighted, each clickable."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from pathway.i18n import _
from pathway.tui.modes import MODES


class ModeTabs(Horizontal):
    """Shows which mode is on screen; a click switches mode."""

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        yield Label("pathway", id="brand")
        for mode in MODES:
            label = Label(f" {_(mode.title)} [dim]{mode.key.upper()}[/] ", classes="tab", id=f"tab-{mode.id}")
            if mode.id == self.current:
                label.add_class("-current")
            yield label

    def on_click(self, event) -> None:
        widget = event.widget
        if widget is not None and widget.id and widget.id.startswith("tab-"):
            self.app.action_mode(widget.id.removeprefix("tab-"))
