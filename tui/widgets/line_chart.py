"""A loss chart in braille: raw points faint (min–max per column, so spikes show), smoothed bold.

Attributes down: the screen hands in `ChartSeries` and sets the reactives; the chart only draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from pathway.i18n import N_, _
from pathway.tui.widgets.curves import DEFAULT_SMOOTHING, EmaSmoother, ema_smooth_array, reduce_columns
from pathway.tui.widgets.braille import BrailleCanvas

Y_LABEL_WIDTH = 8
PALETTE = ["#4EA8DE", "#F4A261", "#90BE6D", "#E76F51", "#B392F0", "#F9C74F"]


@dataclass
class ChartSeries:
    """One curve: y against step and against seconds since the run started."""

    label: str
    steps: np.ndarray
    seconds: np.ndarray
    values: np.ndarray
    color: str = PALETTE[0]
    smoothed: np.ndarray | None = field(default=None, repr=False)
    smoother: EmaSmoother | None = field(default=None, repr=False)

    def extend(self, steps: np.ndarray, seconds: np.ndarray, values: np.ndarray) -> None:
        """Take the grown arrays of a live run; smoothing then only visits the new points."""
        self.steps, self.seconds, self.values = steps, seconds, values

    def smooth(self, weight: float) -> np.ndarray:
        done = 0 if self.smoothed is None else len(self.smoothed)
        if self.smoother is None or self.smoother.weight != weight or done > len(self.values):
            self.smoothed = ema_smooth_array(self.values, weight)  # vectorised: fast even for 1M points
            self.smoother = smoother_after(self.values, self.smoothed, weight)
        elif done < len(self.values):
            fresh = self.smoother.extend(self.values[done:])
            self.smoothed = np.concatenate([self.smoothed, fresh])
        return self.smoothed


def smoother_after(values: np.ndarray, smoothed: np.ndarray, weight: float) -> EmaSmoother:
    """An EmaSmoother in the state it would have after being fed `values` (whose smoothing is `smoothed`)."""
    smoother = EmaSmoother(weight)
    finite = np.isfinite(values)
    smoother.n = int(finite.sum())
    if len(values):
        smoother._first = float(values[0])
        smoother._constant = bool(np.all(values == values[0]))
    if smoother.n:
        # shown = last / (1 - w**n) at the last finite point: undo the debiasing to get the running state
        last_shown = float(smoothed[np.nonzero(finite)[0][-1]])
        smoother.last = last_shown * (1.0 - weight**smoother.n)
    return smoother


def format_number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e4 or magnitude < 1e-3:
        return f"{value:.0e}"
    return f"{value:.3g}"


def format_seconds(seconds: float) -> str:
    seconds = max(seconds, 0)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


class LineChart(Widget):
    """Draws `series`; `smoothing`, `log_y` and `x_axis` change how."""

    DEFAULT_CSS = "LineChart { height: 1fr; min-height: 6; }"

    smoothing: reactive[float] = reactive(DEFAULT_SMOOTHING)
    """TensorBoard-style EMA weight, 0 (off) to 0.999."""
    log_y: reactive[bool] = reactive(False)
    """Logarithmic y axis (non-positive values are left out)."""
    x_axis: reactive[str] = reactive("step")
    """"step" or "time" (seconds since the run started)."""

    def __init__(self, *, empty_text: str = N_("no points yet"), **kwargs) -> None:
        super().__init__(**kwargs)
        self.x_label = "step"  # what "step" means for this chart, e.g. "batch size"
        self.series: list[ChartSeries] = []
        self.empty_text = empty_text

    def set_series(self, series: list[ChartSeries]) -> None:
        self.series = series
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width - Y_LABEL_WIDTH, self.size.height - 2
        drawable = [s for s in self.series if len(s.values)]
        if width < 4 or height < 2 or not drawable:
            return Text(_(self.empty_text), style="dim")
        canvas = BrailleCanvas(width, height)
        xs_of = lambda s: s.steps if self.x_axis == "step" else s.seconds  # noqa: E731
        x_lo = min(float(np.min(xs_of(s))) for s in drawable)
        x_hi = max(float(np.max(xs_of(s))) for s in drawable)
        prepared = []
        for s in drawable:
            ys = self.transform(s.values)
            smooth = self.transform(s.smooth(self.smoothing))
            raw = reduce_columns(xs_of(s), ys, canvas.dots_x, (x_lo, x_hi))
            line = reduce_columns(xs_of(s), smooth, canvas.dots_x, (x_lo, x_hi))
            prepared.append((s, raw, line))
        finite = np.concatenate([c.min[np.isfinite(c.min)] for _, c, _ in prepared] + [c.max[np.isfinite(c.max)] for _, c, _ in prepared])
        if finite.size == 0:
            return Text(_("no finite values to draw"), style="dim")
        y_lo, y_hi = float(finite.min()), float(finite.max())
        if y_hi - y_lo < 1e-12:
            y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
        scale = (canvas.dots_y - 1) / (y_hi - y_lo)
        to_dot = lambda v: np.round((v - y_lo) * scale)  # noqa: E731
        for s, raw, _smoothed in prepared:  # faint first, so that bold smoothed lines sit on top
            ok = np.isfinite(raw.min) & np.isfinite(raw.max)
            columns = np.nonzero(ok)[0]
            canvas.vertical_spans(Style(color=s.color, dim=True), columns, to_dot(raw.min[ok]), to_dot(raw.max[ok]))
        for s, _raw, line in prepared:
            ok = np.isfinite(line.last)
            filled = np.nonzero(ok)[0]
            if filled.size == 0:
                continue
            # a straight segment across columns without points (sparse evals, a sweep over batch sizes) ...
            columns = np.arange(filled[0], filled[-1] + 1)
            dots = to_dot(np.interp(columns, filled, line.last[ok]))
            # ... and a vertical run from each column's dot to the previous one, so steep parts have no gaps
            previous = np.concatenate([dots[:1], dots[:-1]])
            canvas.vertical_spans(Style(color=s.color, bold=True), columns, np.minimum(dots, previous), np.maximum(dots, previous))
        return self.compose_text(canvas, y_lo, y_hi, x_lo, x_hi, width)

    def transform(self, values: np.ndarray) -> np.ndarray:
        if not self.log_y:
            return np.asarray(values, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log10(np.asarray(values, dtype=np.float64))
        out[~np.isfinite(out)] = np.nan
        return out

    def y_label(self, value: float) -> str:
        return format_number(10**value if self.log_y else value)

    def compose_text(self, canvas: BrailleCanvas, y_lo, y_hi, x_lo, x_hi, width: int) -> Text:
        out = Text()
        lines = canvas.lines()
        for row, line in enumerate(lines):
            if row == 0:
                label = self.y_label(y_hi)
            elif row == len(lines) - 1:
                label = self.y_label(y_lo)
            elif row == len(lines) // 2:
                label = self.y_label((y_lo + y_hi) / 2)
            else:
                label = ""
            out.append(f"{label[: Y_LABEL_WIDTH - 1]:>{Y_LABEL_WIDTH - 1}} ", style="dim")
            out.append(line)
            out.append("\n")
        fmt = (lambda v: f"{v:.0f}") if self.x_axis == "step" else format_seconds
        left, right = fmt(x_lo), fmt(x_hi)
        axis_name = self.x_label if self.x_axis == "step" else _("time")
        log = " · " + _("log y") if self.log_y else ""
        middle = f"{axis_name}{log} · " + _("smoothing {value:.2f}").format(value=self.smoothing)
        gap = max(width - len(left) - len(right) - len(middle), 2)
        out.append(" " * Y_LABEL_WIDTH + left + " " * (gap // 2) + middle + " " * (gap - gap // 2) + right + "\n", style="dim")
        legend = Text(" " * Y_LABEL_WIDTH)
        for s in self.series:
            legend.append("━━ ", style=Style(color=s.color, bold=True))
            legend.append(f"{s.label}   ")
        out.append(legend)
        return out

    def watch_smoothing(self) -> None:
        self.refresh()

    def watch_log_y(self) -> None:
        self.refresh()

    def watch_x_axis(self) -> None:
        self.refresh()
