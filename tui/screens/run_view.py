"""One run (or several, overlaid) drawing live: loss chart, throughput/ETA, GPU, CPU/RAM, log."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.markup import escape
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from pathway.durations import format_duration
from pathway.i18n import N_, _, ngettext
from pathway.labs.engine.contract import SAMPLE_NAME
from pathway.labs.engine.status import ACTIVE, CHECK_FAILED, DONE, INTERRUPTED, STOPPED, color
from pathway.tui.run_data import RunData
from pathway.tui.widgets.footer import FittedFooter
from pathway.tui.widgets.line_chart import PALETTE, ChartSeries, LineChart
from pathway.tui.widgets.spark import sparkline

POLL_SECONDS = 0.5
# The run statuses (labs.engine.status) and control outcomes, for the catalog: `_(run.status)` where drawn.
STATUS_WORDS = (
    N_("queued"), N_("running"), N_("succeeded"), N_("check failed"), N_("failed"), N_("stopped"),
    N_("diverged"), N_("interrupted"), N_("resumed"), N_("stopping"),
)
ACC_CHART_MIN_HEIGHT = 28  # below this many rows accuracy is only in the header: the loss chart needs the room


def is_accuracy(name: str) -> bool:
    """A 0-1 metric drawn on its own axis, so that it does not flatten the losses (or vice versa)."""
    leaf = name.rsplit("/", 1)[-1]
    return leaf in ("acc", "accuracy") or leaf.endswith("_acc")


def resumable(status: str | None) -> bool:
    """Stopped, interrupted, failed or diverged: a new runner can continue from the last checkpoint."""
    return status is not None and status not in ACTIVE and status not in DONE


def reason_line(error: str) -> str:
    """The line of a run's error worth a header: a check's misses, or a traceback's last line."""
    from pathway.labs.engine.status import CHECK_PREFIX

    text = error.strip()
    return text[len(CHECK_PREFIX):] if text.startswith(CHECK_PREFIX) else text.splitlines()[-1]



def progress_bar(fraction: float | None, width: int = 12) -> str:
    if fraction is None:
        return "[dim]" + "░" * width + "[/]"
    filled = int(round(fraction * width))
    return f"[green]{'█' * filled}[/][dim]{'░' * (width - filled)}[/]"


class RunScreen(Screen):
    """Live view of `run_ids` (one run, or several of one lab to compare)."""

    DEFAULT_CSS = """
    #acc-chart { height: 1fr; max-height: 12; min-height: 6; padding: 0 1; }
    """

    BINDINGS = [
        Binding("plus,equals_sign", "smoothing(0.1)", N_("Smooth+")),
        Binding("minus", "smoothing(-0.1)", N_("Smooth-")),
        Binding("l", "toggle_log", N_("Log y")),
        Binding("x", "toggle_x", N_("Step/time")),
        Binding("s", "stop", N_("Stop")),
        Binding("r", "resume", N_("Resume")),
        Binding("q,escape", "app.pop_screen", N_("Back")),
    ]

    @dataclass
    class Polled(Message):
        """New rows and fresh run rows, from the poll worker."""

        runs: list
        rows: dict[int, list]
        progress: dict[int, object]
        log: str
        reset: set[int]
        sample: str

    def __init__(self, run_ids: list[int]) -> None:
        super().__init__()
        self.run_ids = run_ids
        self.data = {run_id: RunData(run_id) for run_id in run_ids}
        self.statuses: dict[int, str] = {}
        self.gpu_reason = _("checking for NVIDIA GPUs…")
        self.chart_x_label = "step"

    @property
    def comparing(self) -> bool:
        return len(self.run_ids) > 1

    def compose(self) -> ComposeResult:
        yield Static("", id="run-header")
        yield LineChart(id="loss-chart", empty_text=_("waiting for the first loss values…"))
        yield LineChart(id="acc-chart", empty_text="")
        with Horizontal(id="run-panes"):
            yield Static("", id="gpu-pane", classes="pane")
            yield Static("", id="cpu-pane", classes="pane")
        yield Static("", id="sample-pane", classes="pane")
        yield Static("", id="log-pane", classes="pane")
        yield FittedFooter()  # seven keys: at 80 columns the ones that do not fit are listed in Help

    def on_mount(self) -> None:
        self.set_titles()
        self.query_one("#sample-pane").display = False
        self.query_one("#acc-chart").display = False
        self.query_one("#log-pane").display = not self.comparing
        self.check_gpu()
        self.poll()
        self.set_interval(POLL_SECONDS, self.poll)

    def set_titles(self) -> None:
        self.query_one("#gpu-pane").border_title = "GPU"
        self.query_one("#cpu-pane").border_title = "CPU / RAM"
        self.query_one("#log-pane").border_title = _("Log")
        self.query_one("#sample-pane").border_title = _("Latest sample")

    def redraw_language(self) -> None:
        """Ctrl+L: the titles, the footer and the next poll's text in the new language."""
        self.set_titles()
        self.query_one(FittedFooter).refresh(recompose=True)
        for chart in self.query(LineChart):
            chart.refresh()
        self.check_gpu()
        if hasattr(self, "runs"):
            self.redraw_header()
            self.redraw_chart()
            self.redraw_panes()

    # --- data -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="gpu-check")
    def check_gpu(self) -> None:
        from pathway.labs.engine.gpu import default_provider

        provider = default_provider()
        try:
            snapshot = provider.sample()
        finally:
            provider.close()
        found = len(snapshot.devices)
        reason = snapshot.reason or ngettext(
            "{n} NVIDIA GPU found; this run has no GPU readings", "{n} NVIDIA GPUs found; this run has no GPU readings", found
        ).format(n=found)
        self.app.call_from_thread(self._set_gpu_reason, reason)

    def _set_gpu_reason(self, reason: str) -> None:
        self.gpu_reason = reason
        self.redraw_panes()

    @work(thread=True, exclusive=True, exit_on_error=False, group="run-poll")
    def poll(self) -> None:
        from pathway.labs.engine import jobs

        engine = self.app.data.engine
        runs, rows, progress, reset = [], {}, {}, set()
        for run_id in self.run_ids:
            run = jobs.get_run(engine, run_id)
            previous = self.statuses.get(run_id)
            after = self.data[run_id].last_id
            if previous is not None and previous not in ACTIVE and run.status in ACTIVE:
                reset.add(run_id)  # resumed: the lab rewinds rows past its checkpoint
                after = 0
            runs.append(run)
            rows[run_id] = jobs.metrics_since(engine, run_id, after_id=after)
            progress[run_id] = jobs.progress(engine, run)
        log = "" if self.comparing else jobs.tail_log(runs[0], lines=12)
        sample_file = Path(runs[0].run_dir) / SAMPLE_NAME
        sample = sample_file.read_text(encoding="utf-8", errors="replace") if sample_file.exists() else ""
        self.post_message(self.Polled(runs, rows, progress, log, reset, sample))

    def on_run_screen_polled(self, message: Polled) -> None:
        for run in message.runs:
            if run.id in message.reset:
                self.data[run.id].reset()
            self.data[run.id].add(message.rows[run.id])
            self.statuses[run.id] = run.status
        changed = [r.status for r in getattr(self, "runs", [])] != [r.status for r in message.runs]
        self.runs = message.runs
        self.progress = message.progress
        if changed:
            self.refresh_bindings()  # s and r appear or go with the status
        self.redraw_header()
        self.redraw_chart()
        self.redraw_panes()
        sample_pane = self.query_one("#sample-pane", Static)
        sample_pane.display = bool(message.sample) and not self.comparing
        if message.sample:
            sample_pane.update(escape(message.sample.strip()[-1200:]))
        # A small terminal has room for one text pane under the chart: the lab's sample wins.
        self.query_one("#log-pane").display = not self.comparing and not (sample_pane.display and self.size.height < 32)
        if not self.comparing:
            keep = 3 if self.size.height < 32 else 6  # the chart gets the room on small terminals
            lines = message.log.rstrip().splitlines()[-keep:]
            self.query_one("#log-pane", Static).update(escape("\n".join(lines)) or "[dim]" + _("no output yet") + "[/]")

    # --- drawing ----------------------------------------------------------------------

    def redraw_header(self) -> None:
        parts = []
        for index, run in enumerate(self.runs):
            progress = self.progress[run.id]
            data = self.data[run.id]
            total = f"/{progress.total_steps}" if progress.total_steps else ""
            pct = f" {progress.fraction:.0%}" if progress.fraction is not None else ""
            acc = data.latest("eval/acc")
            names = self.chart_names(data, run.lab)
            loss_name = "train/loss" if data.get("train/loss") is not None else (names[0] if names else "train/loss")
            loss = data.latest(loss_name)
            speed = data.latest("train/samples_per_s") or data.latest("train/tokens_per_s")
            # names sets chart_x_label; a sweep's "step" is a batch size, not progress worth a header slot
            step = f"step {progress.step}{total}" if self.chart_x_label == "step" else ""  # step, loss, acc, ETA: kept in English
            elapsed = format_duration(progress.elapsed_s)
            details = {
                "step": step + pct if step else "",
                "loss": f"{'loss' if loss_name == 'train/loss' else loss_name} {loss:.4g}" if loss is not None else "",
                "acc": f"acc {acc:.1%}" if acc is not None else "",
                "speed": f"{speed:,.0f}/s" if speed is not None else "",
                "elapsed": _("elapsed {time}").format(time=elapsed),
                "eta": f"ETA {format_duration(progress.eta_s)}" if run.status in ACTIVE and progress.eta_s is not None else "",
            }
            hue = PALETTE[index % len(PALETTE)] if self.comparing else ""
            name = f"[b {hue}]#{run.id} {escape(run.lab)}[/]" if hue else f"[b]#{run.id} {escape(run.lab)}[/]"
            status = f"[{color(run.status)}]{_(run.status)}[/]"
            parts.append(self.fitted_header(f"{name} {status}", progress.fraction, details, {"step": step, "elapsed": elapsed}))
            if not self.comparing:
                parts += self.ending_lines(run)
        self.query_one("#run-header", Static).update("\n".join(parts))

    def fitted_header(self, lead: str, fraction: float | None, details: dict[str, str], short: dict[str, str]) -> str:
        """One line at the screen's width: on a narrow terminal the percentage (the bar shows it), the
        throughput, half the bar and the word "elapsed" go, in that order, before anything wraps."""
        width = self.size.width - 2 if self.is_mounted else 200
        bar_cells = 12

        def line() -> str:
            return f"{lead} {progress_bar(fraction, bar_cells)} " + " · ".join(v for v in details.values() if v)

        for drop in ("step", "speed", "bar", "elapsed"):
            if Text.from_markup(line()).cell_len <= width:
                break
            if drop in short:  # the step without its percentage; the time without "elapsed"
                details[drop] = short[drop]
            elif drop == "bar":
                bar_cells = 6
            else:
                details[drop] = ""
        return line()

    def ending_lines(self, run) -> list[str]:
        """Why a run ended and what can be done here, in this screen's keys."""
        lines = []
        if run.error:
            lines.append(f"[{color(run.status)}]{escape(reason_line(run.error))}[/]")
        if run.status in (STOPPED, INTERRUPTED):
            lines.append("[dim]" + _("Press r to resume it from its last checkpoint.") + "[/]")
        elif resumable(run.status):  # failed or diverged: the same settings may end the same way
            lines.append("[dim]" + _("Press r to try again from its last checkpoint, or change the settings in Labs (e) and start a new run.") + "[/]")
        elif run.status == CHECK_FAILED:
            lines.append("[dim]" + _("It ran every step; change the settings in Labs (e) and start a new run.") + "[/]")
        return lines

    def chart_names(self, data: RunData, lab: str) -> list[str]:
        """The metric names this lab wants on its chart (patterns from the catalog), in pattern order."""
        from pathway.labs import catalog

        try:
            spec = catalog.get_lab(lab)
            patterns, self.chart_x_label = spec.chart_metrics, spec.chart_x_label
        except Exception:  # a run of a lab this version no longer has: draw its losses
            patterns, self.chart_x_label = ("train/loss", "eval/loss"), "step"
        names = []
        for pattern in patterns[:1] if self.comparing else patterns:
            names += [name for name in sorted(data.metrics) if fnmatch(name, pattern) and name not in names]
        return names

    def redraw_chart(self) -> None:
        series, accuracy = [], []
        labs = {run.id: run.lab for run in self.runs}
        for index, run_id in enumerate(self.run_ids):
            data = self.data[run_id]
            for offset, name in enumerate(self.chart_names(data, labs[run_id])):
                arrays = data.get(name)
                if arrays is None:
                    continue
                label = f"#{run_id} {name}" if self.comparing else name
                hue = PALETTE[(index if self.comparing else offset) % len(PALETTE)]
                (accuracy if is_accuracy(name) else series).append(
                    ChartSeries(label, arrays.steps, data.seconds(name), arrays.values, hue))
        acc_chart = self.query_one("#acc-chart", LineChart)
        acc_chart.display = bool(accuracy) and self.size.height >= ACC_CHART_MIN_HEIGHT
        acc_chart.x_label = self.chart_x_label
        self.update_series(acc_chart, accuracy)
        chart = self.query_one("#loss-chart", LineChart)
        chart.empty_text = self.empty_chart_text()
        chart.x_label = self.chart_x_label
        self.update_series(chart, series)

    def empty_chart_text(self) -> str:
        """What the loss chart says before it has a point: waiting, or why there will be none."""
        run = self.runs[0]
        if self.comparing or run.status in ACTIVE:
            return _("waiting for the first loss values…")
        if run.error:
            return _("No loss to draw: run #{id} {status} before its first report (why is above).").format(id=run.id, status=_(run.status))
        return _("No loss to draw: run #{id} {status} before its first report.").format(id=run.id, status=_(run.status))

    def update_series(self, chart: LineChart, series: list[ChartSeries]) -> None:
        # keep each curve's smoothing state: a live run only smooths its new points
        old = {s.label: s for s in chart.series}
        for index, s in enumerate(series):
            previous = old.get(s.label)
            if previous is not None and len(previous.values) <= len(s.values):
                previous.extend(s.steps, s.seconds, s.values)
                series[index] = previous
        if self.chart_x_label != "step" and not chart.series:
            chart.smoothing = 0.0  # a sweep (x = batch size) has one point per x: averaging neighbours would blur it
        chart.set_series(series)

    def redraw_panes(self) -> None:
        if not hasattr(self, "runs"):
            return
        data = self.data[self.run_ids[0]]
        width = max(self.query_one("#gpu-pane").size.width - 24, 8)
        gpu_lines = []
        for prefix in sorted({name.split("/")[0] for name in data.names("gpu")}):
            util = data.get(f"{prefix}/util")
            used, total = data.latest(f"{prefix}/mem_used_mb"), data.latest(f"{prefix}/mem_total_mb")
            power, cap = data.latest(f"{prefix}/power_w"), data.latest(f"{prefix}/power_cap_w")
            temp, job = data.latest(f"{prefix}/temp_c"), data.latest(f"{prefix}/job_mem_mb")
            mem = data.get(f"{prefix}/mem_used_mb")
            pwr = data.get(f"{prefix}/power_w")
            gpu_lines.append(
                f"[b]{prefix.upper()}[/] util {sparkline(util.values, width, 100) if util else ''} {fmt(data.latest(f'{prefix}/util'), '%')}"
            )
            gpu_lines.append(f"  mem  {sparkline(mem.values, width, total) if mem else ''} {fmt_gb(used)}/{fmt_gb(total)} GB")
            gpu_lines.append(f"  pwr  {sparkline(pwr.values, width, cap) if pwr else ''} {fmt(power, 'W')}/{fmt(cap, 'W')} {fmt(temp, '°C')}")
            gpu_lines.append("  " + _("this job {gb} GB").format(gb=fmt_gb(job)))
        if not gpu_lines:
            gpu_lines = [f"[b]{escape(self.gpu_reason)}[/]", "[dim]" + _("The CPU pane carries the view.") + "[/]"]
        self.query_one("#gpu-pane", Static).update("\n".join(gpu_lines))
        run = self.runs[0]
        if run.status not in ACTIVE:  # no live readings: say so instead of leaving the last one as if current
            cpu, rss = data.get("sys/cpu_percent"), data.get("sys/rss_mb")
            peaks = [_("peak CPU {value}").format(value=fmt(float(cpu.values.max()), "%")) if cpu is not None and cpu.values.size else "",
                     _("peak RSS {value}").format(value=fmt(float(rss.values.max()), " MB")) if rss is not None and rss.values.size else ""]
            self.query_one("#cpu-pane", Static).update(
                "[dim]" + _("Run ended: no live readings.") + "[/]\n" + "\n".join(p for p in peaks if p))
            return
        cpu = data.get("sys/cpu_percent")
        rss = data.get("sys/rss_mb")
        progress = self.progress[self.run_ids[0]]
        step_time = 1000 / progress.steps_per_s if progress.steps_per_s else None
        width = max(self.query_one("#cpu-pane").size.width - 16, 8)
        self.query_one("#cpu-pane", Static).update(
            f"CPU  {sparkline(cpu.values, width) if cpu else ''} {fmt(data.latest('sys/cpu_percent'), '%')}\n"
            f"RSS  {sparkline(rss.values, width) if rss else ''} {fmt(data.latest('sys/rss_mb'), ' MB')}\n"
            f"step {fmt(step_time, ' ms')}"
        )

    # --- actions ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Stop only while a run is going, resume only a run that can continue; otherwise the key is not offered."""
        statuses = [self.statuses.get(run_id) for run_id in self.run_ids]
        if action == "stop":
            return any(status in ACTIVE for status in statuses)
        if action == "resume":
            return any(resumable(status) for status in statuses)
        return True

    def action_smoothing(self, delta: float) -> None:
        for chart in self.query(LineChart):
            chart.smoothing = round(min(max(chart.smoothing + delta, 0.0), 0.99), 2)

    def action_toggle_log(self) -> None:
        chart = self.query_one("#loss-chart", LineChart)  # accuracy stays linear: 0 to 1
        chart.log_y = not chart.log_y

    def action_toggle_x(self) -> None:
        for chart in self.query(LineChart):
            chart.x_axis = "time" if chart.x_axis == "step" else "step"

    def action_stop(self) -> None:
        self.notify(_("Stopping: the lab saves a checkpoint first…"), timeout=3)
        self.stop_runs()

    @work(thread=True, exit_on_error=False, group="run-control")
    def stop_runs(self) -> None:
        from pathway.labs.engine import jobs

        for run_id in self.run_ids:
            if self.statuses.get(run_id) in ACTIVE:
                status = jobs.stop(self.app.data.engine, run_id)
                self.app.call_from_thread(self.notify, _("Run #{id}: {outcome}.").format(id=run_id, outcome=_(status)), timeout=4)

    def action_resume(self) -> None:
        self.resume_runs()

    @work(thread=True, exit_on_error=False, group="run-control")
    def resume_runs(self) -> None:
        from pathway.errors import PathwayError
        from pathway.labs.engine import jobs

        for run_id in self.run_ids:
            try:
                jobs.resume(self.app.data.engine, self.app.data.home, run_id)
            except PathwayError as exc:
                self.app.call_from_thread(self.notify, exc.message, severity="warning", timeout=6)
            else:
                self.app.call_from_thread(self.notify, _("Run #{id} resumed.").format(id=run_id), timeout=3)


def fmt(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:.0f}{unit}"


def fmt_gb(mb: float | None) -> str:
    return "n/a" if mb is None else f"{mb / 1024:.1f}"
