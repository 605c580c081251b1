"""The plan's two settings, from Home (p): when the 24 weeks began and the hours a week aimed at."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from pathway.errors import PathwayError
from pathway.i18n import N_, _


class PlanScreen(ModalScreen[tuple[str, int] | None]):
    """Dismisses with (start YYYY-MM-DD, weekly hours) on Enter when both are valid, None on Esc."""

    CSS_PATH = "../quiz.tcss"
    BINDINGS = [Binding("escape", "cancel", N_("Cancel")), Binding("enter", "save", N_("Save"), priority=True)]

    def __init__(self, start: str, hours: int) -> None:
        super().__init__()
        self.start, self.hours = start, hours

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static("[b]" + _("Your plan") + "[/b]  " + _("24 weeks; Home compares the calendar's week with your progress"))
            yield Static(_("Start date (YYYY-MM-DD)"))
            yield Input(self.start, id="plan-start")
            yield Static(_("Study hours a week (the plan asks 15–20)"))
            yield Input(str(self.hours), id="plan-hours")
            yield Static("", id="plan-problem")
            yield Static(
                "[b]Enter[/b] " + _("save") + "    [b]Esc[/b] " + _("cancel") + "    [b]Tab[/b] " + _("next field"),
                classes="modal-keys",
            )

    def values(self) -> tuple[str, int]:
        """The two settings, checked; a PathwayError names the bad one."""
        from pathway.pace import parse_hours, parse_start

        return parse_start(self.query_one("#plan-start", Input).value), parse_hours(self.query_one("#plan-hours", Input).value)

    @on(Input.Changed)
    def check(self) -> None:
        try:
            self.values()
            problem = ""
        except PathwayError as exc:
            problem = f"[$error]{exc.message}[/]"
        self.query_one("#plan-problem", Static).update(problem)

    def action_save(self) -> None:
        try:
            self.dismiss(self.values())
        except PathwayError as exc:
            self.query_one("#plan-problem", Static).update(f"[$error]{exc.message}[/]")

    def action_cancel(self) -> None:
        self.dismiss(None)
