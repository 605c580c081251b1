"""The settings form of a lab: one field per knob, checked exactly as `--set` is, as the learner types.

Each field's own message (type, range) appears under it at once; the checks that
need every field (the lab's cross-field rules, whether the run fits in memory)
run a moment after typing stops and show above the buttons. Ctrl+S starts from
any field; the buttons stay in view below the scrolling fields.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, Static

from pathway.i18n import N_, _
from pathway.tui.widgets.footer import FittedFooter

WHOLE_FORM_DELAY_S = 0.3  # after the last key, check the whole form (cross-field rules, memory)


class LabSettingsScreen(ModalScreen[dict | None]):
    """Dismisses with the validated overrides, or None when cancelled."""

    DEFAULT_CSS = """
    LabSettingsScreen { align: center middle; }
    #settings-dialog {
        width: 90%; max-width: 90; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    #settings-title { height: auto; padding-bottom: 1; }
    #settings-fields { height: 1fr; }
    .setting-row { height: 1; }
    .setting-name { width: 18; }
    .setting-input { width: 1fr; }
    #settings-help { height: auto; min-height: 2; padding-top: 1; }
    .knob-error { height: auto; color: $error; padding: 0 0 0 18; }
    .knob-error.-empty { display: none; }
    #settings-error { height: auto; max-height: 5; }
    #settings-buttons { height: auto; align: center middle; padding-top: 1; }
    #settings-buttons Button { margin: 0 2; }
    """

    BINDINGS = [
        Binding("ctrl+s", "start", N_("Start run"), priority=True),
        Binding("escape", "cancel", N_("Cancel")),
    ]

    def __init__(self, lab, defaults: dict, cuda: bool) -> None:
        super().__init__()
        self.lab = lab
        self.defaults = defaults  # the defaults of the device the run will use (see catalog.default_values)
        self.cuda = cuda
        self._whole_form_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="settings-dialog"):
            yield Static(
                f"[b]{escape(self.lab.title)}[/]  " + _("settings") + "\n[dim]"
                + _("Tab next field · Ctrl+S start the run from any field · Esc cancel") + "[/]",
                id="settings-title",
            )
            with VerticalScroll(id="settings-fields"):
                for knob in self.lab.knobs():
                    with Horizontal(classes="setting-row"):
                        yield Label(knob.name, classes="setting-name")
                        yield Input(value=str(self.defaults.get(knob.name, knob.default)), id=f"knob-{knob.name}",
                                    classes="setting-input", compact=True)  # one row a field: more of them fit at 80x24
                    yield Static("", id=f"error-{knob.name}", classes="knob-error -empty")
            # One help line for the field being edited, not one per field: a dozen fields fit at 80x24.
            yield Static("", id="settings-help")
            yield Static("", id="settings-error")
            with Horizontal(id="settings-buttons"):
                yield Button(_("Start (Ctrl+S)"), variant="primary", id="start", compact=True)
                yield Button(_("Cancel (Esc)"), id="cancel", compact=True)
        yield FittedFooter()

    def on_mount(self) -> None:
        self.query_one(Input).focus()  # the first field: Tab walks on from there

    def on_descendant_focus(self, event) -> None:
        name = (getattr(event.widget, "id", None) or "").removeprefix("knob-")
        knob = next((k for k in self.lab.knobs() if k.name == name), None)
        if knob is not None:
            self.query_one("#settings-help", Static).update(
                f"[b]{escape(knob.name)}[/]  [dim]{escape(knob.help)} ({escape(knob.allowed)})[/]"
            )

    def values(self) -> dict[str, str]:
        """Only what differs from the defaults, as the user typed it."""
        changed = {}
        for knob in self.lab.knobs():
            typed = self.query_one(f"#knob-{knob.name}", Input).value.strip()
            if typed != str(self.defaults.get(knob.name, knob.default)):
                changed[knob.name] = typed
        return changed

    # --- checking as the learner types -------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        from pathway.errors import PathwayError
        from pathway.labs.engine.settings import check_value

        name = (event.input.id or "").removeprefix("knob-")
        try:
            check_value(self.lab.config_cls, name, event.value)
            message = ""
        except PathwayError as exc:
            message = exc.message
        self.show_field_error(name, message)
        if self._whole_form_timer is not None:
            self._whole_form_timer.stop()
        self._whole_form_timer = self.set_timer(WHOLE_FORM_DELAY_S, self.check_whole_form)

    def show_field_error(self, name: str, message: str) -> None:
        line = self.query_one(f"#error-{name}", Static)
        line.update(escape(message))
        line.set_class(not message, "-empty")
        self.query_one(f"#knob-{name}", Input).set_class(bool(message), "-invalid")

    def field_errors(self) -> list[str]:
        return [knob.name for knob in self.lab.knobs() if not self.query_one(f"#error-{knob.name}", Static).has_class("-empty")]

    def check_whole_form(self) -> dict | None:
        """The overrides when every check passes, else None with the message above the buttons."""
        from pathway.errors import PathwayError
        from pathway.labs import catalog

        box = self.query_one("#settings-error", Static)
        bad = self.field_errors()
        if bad:
            box.update("[red]" + _("Fix {fields} first (the message is under the field).").format(fields=escape(", ".join(bad))) + "[/]")
            return None
        try:
            overrides = catalog.validate_config(self.lab.id, self.values(), cuda=self.cuda)
        except PathwayError as exc:
            box.update(f"[red]{escape(exc.message)}[/]")
            return None
        box.update("")
        return overrides

    # --- actions ------------------------------------------------------------------------------

    def action_start(self) -> None:
        overrides = self.check_whole_form()
        if overrides is not None:
            self.dismiss(overrides)
            return
        bad = self.field_errors()
        if bad:
            self.query_one(f"#knob-{bad[0]}", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_start() if event.button.id == "start" else self.action_cancel()

    def on_input_submitted(self) -> None:
        self.action_start()
