"""A line chart as a standalone SVG document: for the portfolio, where a page must carry its own curves.

    svg = line_chart({"train/loss": [(0, 2.3), (10, 1.1)], "eval/loss": [(10, 1.2)]}, title="loss")

The project's own few lines instead of matplotlib: the portfolio needs axes, ticks,
a legend and a polyline per series, nothing else, and the TUI install stays light.
Steps go along x, values up y; series with fewer than two points are left out.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence
from xml.sax.saxutils import escape

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"]
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 40
MAX_POINTS = 600  # more than a 640-px line can show: a long run is thinned to this many


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def thin(points: Sequence[tuple[float, float]], limit: int = MAX_POINTS) -> list[tuple[float, float]]:
    if len(points) <= limit:
        return list(points)
    every = math.ceil(len(points) / limit)
    kept = list(points[::every])
    if kept[-1] != points[-1]:
        kept.append(points[-1])  # the final value is the one a reader looks for
    return kept


def label(value: float) -> str:
    return f"{value:.4g}"


def line_chart(series: Mapping[str, Sequence[tuple[float, float]]], *, title: str = "", x_label: str = "step") -> str:
    drawn = {name: thin(points) for name, points in series.items() if len(points) >= 2}
    xs = [x for points in drawn.values() for x, _ in points] or [0.0, 1.0]
    ys = [y for points in drawn.values() for _, y in points if math.isfinite(y)] or [0.0, 1.0]
    x_ticks, y_ticks = nice_ticks(min(xs), max(xs)), nice_ticks(min(ys), max(ys))
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0 or 1) * plot_w

    def py(y: float) -> float:
        return TOP + plot_h - (y - y0) / (y1 - y0 or 1) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'font-family="sans-serif" font-size="11">',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
    ]
    for tick in y_ticks:
        y = py(tick)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label(tick)}</text>')
    for tick in x_ticks:
        x = px(tick)
        parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{label(tick)}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" text-anchor="middle">{escape(x_label)}</text>')
    for i, (name, points) in enumerate(drawn.items()):
        color = COLORS[i % len(COLORS)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points if math.isfinite(y))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{path}"/>')
        parts.append(f'<text x="{LEFT + plot_w - 4}" y="{TOP + 14 + 14 * i}" text-anchor="end" fill="{color}">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
