"""The bar at the top: the five modes, the current one highlighted, each clickable."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

MODES = [("home", "Home", "F2"), ("learn", "Learn", "F3"), ("quiz", "Quiz", "F4"), ("labs", "Labs", "F5"), ("progress", "Progress", "F6")]


class ModeTabs(Horizontal):
    """Shows which mode is on screen; a click switches mode."""

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        yield Label("pathway", id="brand")
        for mode, title, key in MODES:
            label = Label(f" {title} [dim]{key}[/] ", classes="tab", id=f"tab-{mode}")
            if mode == self.current:
                label.add_class("-current")
            yield label

    def on_click(self, event) -> None:
        widget = event.widget
        if widget is not None and widget.id and widget.id.startswith("tab-"):
            self.app.action_mode(widget.id.removeprefix("tab-"))
