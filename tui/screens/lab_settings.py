"""The settings form of a lab: one field per knob, checked exactly as `--set` is."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class LabSettingsScreen(ModalScreen[dict | None]):
    """Dismisses with the validated overrides, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "start", "Start")]

    def __init__(self, lab, defaults: dict, cuda: bool) -> None:
        super().__init__()
        self.lab = lab
        self.defaults = defaults  # the defaults of the device the run will use (see catalog.default_values)
        self.cuda = cuda

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="settings-box"):
            yield Static(f"[b]{escape(self.lab.title)}[/]  settings", id="settings-title")
            for knob in self.lab.knobs():
                with Horizontal(classes="knob"):
                    yield Label(knob.name, classes="knob-name")
                    yield Input(value=str(self.defaults.get(knob.name, knob.default)), id=f"knob-{knob.name}", classes="knob-input")
                yield Static(f"[dim]{escape(knob.help)} ({escape(knob.allowed)})[/]", classes="knob-help")
            yield Static("", id="settings-error")
            with Horizontal(id="settings-buttons"):
                yield Button("Start", variant="primary", id="start")
                yield Button("Cancel", id="cancel")

    def values(self) -> dict[str, str]:
        """Only what differs from the defaults, as the user typed it."""
        changed = {}
        for knob in self.lab.knobs():
            typed = self.query_one(f"#knob-{knob.name}", Input).value.strip()
            if typed != str(self.defaults.get(knob.name, knob.default)):
                changed[knob.name] = typed
        return changed

    def action_start(self) -> None:
        from pathway.errors import PathwayError
        from pathway.labs import catalog

        try:
            overrides = catalog.validate_config(self.lab.id, self.values(), cuda=self.cuda)
        except PathwayError as exc:
            self.query_one("#settings-error", Static).update(f"[red]{escape(exc.message)}[/]")
            return
        self.dismiss(overrides)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_start() if event.button.id == "start" else self.action_cancel()

    def on_input_submitted(self) -> None:
        self.action_start()
