"""Labs: the catalog of labs, the runs table, and the way into each run's live view."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.message import Message
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from pathway.i18n import N_, _
from pathway.tui.screens.base import ModeScreen
from pathway.durations import format_duration
from pathway.labs.engine.status import ACTIVE, ALL, color
from pathway.tui.screens.run_view import RunScreen, progress_bar, reason_line, resumable

POLL_SECONDS = 1.0
STATUS_FILTERS = [None, *ALL]


def lab_line(lab) -> Text:
    """One catalog line that never wraps: id, then as much of the title as fits."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{lab.id:<17}", style="bold")
    line.append(lab.title)
    return line


class LabsScreen(ModeScreen):
    MODE = "labs"
    BINDINGS = [
        Binding("s", "start", N_("Start")),
        Binding("e", "settings", N_("Settings")),
        Binding("enter", "open_run", N_("Open run"), show=False),
        Binding("space", "mark", N_("Mark")),
        Binding("c", "compare", N_("Compare")),
        Binding("p", "portfolio", N_("Portfolio"), show=False),  # named in the runs title
        Binding("x", "stop", N_("Stop")),
        Binding("r", "resume", N_("Resume")),
        Binding("f", "filter", N_("Filter")),
        Binding("q,escape", "app.mode('home')", N_("Home")),
    ]

    @dataclass
    class RunsPolled(Message):
        rows: list  # (run, RunProgress, latest loss)

    @dataclass
    class GpusCounted(Message):
        count: int  # GPUs NVML sees (0 on a CPU-only machine)

    def __init__(self) -> None:
        super().__init__()
        self.status_filter: str | None = None
        self.lab_filter: str | None = None
        self.marked: set[int] = set()
        self.runs: list = []  # the rows last polled
        self.cuda = False  # a GPU is there: estimates and form defaults are CUDA's (set by count_gpus)

    def compose(self) -> ComposeResult:
        from pathway.labs import catalog

        yield from self.compose_tabs()
        with Vertical(id="labs-body"):
            yield OptionList(*[Option(lab_line(lab), id=lab.id) for lab in catalog.all_labs()], id="lab-list")
            yield Static("", id="lab-about")
            yield Static("", id="runs-title")
            yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.add_table_columns()
        self.query_one("#lab-list", OptionList).highlighted = 0
        self.query_one("#lab-list").focus()
        self.poll_runs()
        self.count_gpus()
        self.set_interval(POLL_SECONDS, self.poll_runs)

    def add_table_columns(self) -> None:
        self.query_one(DataTable).add_columns("#", _("lab"), _("status"), _("progress"), "loss", _("elapsed"), "ETA")

    def language_changed(self) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        self.add_table_columns()
        self.on_option_list_option_highlighted()
        self.poll_runs()

    # --- catalog ----------------------------------------------------------------

    def selected_lab(self):
        from pathway.labs import catalog

        option_list = self.query_one("#lab-list", OptionList)
        if option_list.highlighted is None:
            return None
        return catalog.get_lab(option_list.get_option_at_index(option_list.highlighted).id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="gpu-count")
    def count_gpus(self) -> None:
        from pathway.labs import catalog

        self.post_message(self.GpusCounted(catalog.visible_gpu_count()))

    def on_labs_screen_gpus_counted(self, message: GpusCounted) -> None:
        self.cuda = message.count > 0
        self.on_option_list_option_highlighted()

    def on_option_list_option_highlighted(self) -> None:
        lab = self.selected_lab()
        if lab is None:
            return
        lessons = ", ".join(lab.lesson_ids) or "–"
        self.query_one("#lab-about", Static).update(
            f"{escape(lab.description)}\n[dim]"
            + _("expected {time} on this machine · lesson: {lessons} · s start with defaults, e settings").format(
                time=lab.expected_time(self.cuda), lessons=lessons
            )
            + "[/]"
        )

    def on_option_list_option_selected(self) -> None:
        self.action_settings()

    def action_start(self) -> None:
        lab = self.selected_lab()
        if lab is not None:
            self.start_run(lab.id, {})

    def action_settings(self) -> None:
        from pathway.labs import catalog
        from pathway.tui.screens.lab_settings import LabSettingsScreen

        lab = self.selected_lab()
        if lab is None:
            return

        def started(overrides: dict | None) -> None:
            if overrides is not None:
                self.start_run(lab.id, overrides)

        self.app.push_screen(LabSettingsScreen(lab, catalog.default_values(lab.id, self.cuda), self.cuda), started)

    @work(thread=True, exit_on_error=False, group="lab-start")
    def start_run(self, lab_id: str, overrides: dict) -> None:
        from pathway.errors import PathwayError
        from pathway.labs.engine import jobs

        try:
            run_id = jobs.start(self.app.data.engine, self.app.data.home, lab_id, overrides)
        except PathwayError as exc:
            self.app.call_from_thread(self.notify, exc.message, severity="error", timeout=8)
            return
        self.app.call_from_thread(self.opened, run_id)

    def opened(self, run_id: int) -> None:
        self.notify(_("Run #{id} started. It keeps running if you quit pathway.").format(id=run_id), timeout=4)
        self.app.push_screen(RunScreen([run_id]))

    # --- runs table ------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs-poll")
    def poll_runs(self) -> None:
        from pathway.labs.engine import jobs

        engine = self.app.data.engine
        runs = jobs.list_runs(engine, lab=self.lab_filter, status=self.status_filter, limit=200)
        rows = []
        for run in runs:
            latest = jobs.latest_metrics(engine, run.id, ["train/loss"]).get("train/loss")
            rows.append((run, jobs.progress(engine, run), latest.value if latest else None))
        self.post_message(self.RunsPolled(rows))

    def on_labs_screen_runs_polled(self, message: RunsPolled) -> None:
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for run, progress, loss in message.rows:
            mark = "●" if run.id in self.marked else " "
            star = "★" if run.portfolio else ""
            table.add_row(
                f"{mark}{run.id}{star}",
                run.lab,
                f"[{color(run.status)}]{_(run.status)}[/]",
                progress_bar(progress.fraction, 8),
                "–" if loss is None else f"{loss:.4g}",
                format_duration(progress.elapsed_s),
                format_duration(progress.eta_s) if run.status in ACTIVE and progress.eta_s is not None else "",
                key=str(run.id),
            )
        self.errors = {run.id: run.error for run, _progress, _loss in message.rows if run.error and run.status not in ACTIVE}
        self.statuses = {run.id: run.status for run, _progress, _loss in message.rows}
        self.runs = [run for run, _progress, _loss in message.rows]
        if message.rows:
            table.move_cursor(row=min(keep, len(message.rows) - 1))
        self.runs_count = len(message.rows)
        self.redraw_runs_title()
        self.refresh_bindings()

    def redraw_runs_title(self) -> None:
        """The table's title, and why the highlighted run ended when it did not succeed."""
        described = " · ".join(filter(None, [self.lab_filter, self.status_filter and _(self.status_filter)])) or _("all")
        title = (
            "[b]" + _("Runs") + f"[/] ({described}, {getattr(self, 'runs_count', 0)})  [dim]"
            + _("Enter open · Space mark · c compare · p portfolio ★ · f filter") + "[/]"
        )
        run_id = self.selected_run_id()
        error = getattr(self, "errors", {}).get(run_id) if run_id is not None else None
        if error:
            status = self.statuses.get(run_id, "")
            reason = reason_line(error)
            room = max(self.size.width - cell_len(f" #{run_id} {_(status)}: ") - 2, 20)  # one line: the table keeps its rows
            reason = reason if cell_len(reason) <= room else set_cell_size(reason, room - 1) + "…"
            title += f"\n[{color(status)}]#{run_id} {escape(_(status))}: {escape(reason)}[/]"
        self.query_one("#runs-title", Static).update(title)

    def on_data_table_row_highlighted(self) -> None:
        self.redraw_runs_title()
        self.refresh_bindings()  # x and r follow the highlighted run

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Stop a run that is going, resume one that can continue; the keys are hidden otherwise."""
        if action not in ("stop", "resume"):
            return True
        run_id = self.selected_run_id() if self.is_mounted else None
        status = getattr(self, "statuses", {}).get(run_id)
        return status in ACTIVE if action == "stop" else resumable(status)

    def selected_run_id(self) -> int | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(key.value)

    def on_data_table_row_selected(self) -> None:
        self.action_open_run()

    def action_open_run(self) -> None:
        if self.focused is self.query_one("#lab-list"):
            self.action_settings()
            return
        run_id = self.selected_run_id()
        if run_id is not None:
            self.app.push_screen(RunScreen([run_id]))

    def action_mark(self) -> None:
        run_id = self.selected_run_id()
        if run_id is not None:
            self.marked ^= {run_id}
            self.poll_runs()

    def action_portfolio(self) -> None:
        from pathway.labs.engine import records

        run_id = self.selected_run_id()
        if run_id is None:
            return
        chosen = not any(run.id == run_id and run.portfolio for run in self.runs)
        records.set_portfolio(self.app.data.engine, run_id, chosen)
        message = _("Run {id} goes into `pathway portfolio`.") if chosen else _("Run {id} is left out of `pathway portfolio`.")
        self.notify(message.format(id=run_id), timeout=3)
        self.poll_runs()

    def action_compare(self) -> None:
        if len(self.marked) < 2:
            self.notify(_("Mark two or more runs with Space in the runs table, then press c."), timeout=4)
            return
        self.app.push_screen(RunScreen(sorted(self.marked)))

    def action_filter(self) -> None:
        index = STATUS_FILTERS.index(self.status_filter)
        self.status_filter = STATUS_FILTERS[(index + 1) % len(STATUS_FILTERS)]
        self.poll_runs()

    def action_stop(self) -> None:
        run_id = self.selected_run_id()
        if run_id is not None:
            self.control(run_id, "stop")

    def action_resume(self) -> None:
        run_id = self.selected_run_id()
        if run_id is not None:
            self.control(run_id, "resume")

    @work(thread=True, exit_on_error=False, group="run-control")
    def control(self, run_id: int, what: str) -> None:
        from pathway.errors import PathwayError
        from pathway.labs.engine import jobs

        data = self.app.data
        try:
            outcome = jobs.stop(data.engine, run_id) if what == "stop" else (jobs.resume(data.engine, data.home, run_id) and "resumed")
        except PathwayError as exc:
            self.app.call_from_thread(self.notify, exc.message, severity="warning", timeout=6)
            return
        self.app.call_from_thread(self.notify, _("Run #{id}: {outcome}.").format(id=run_id, outcome=_(outcome)), timeout=4)
