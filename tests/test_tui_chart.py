"""The loss chart: incremental smoothing equals smoothing the whole series; spikes survive drawing."""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App

from pathway.tui.widgets.curves import ema_smooth
from pathway.tui.widgets.line_chart import ChartSeries, LineChart

SERIES = {
    "noisy": np.random.default_rng(0).standard_normal(60),
    "constant": np.full(30, 3.0),
    "non-finite": np.array([1.0, np.nan, 2.0, np.inf, 3.0, 2.5, 2.0, -np.inf, 1.5, 1.0, 0.8, 0.7]),
}


@pytest.mark.parametrize("weight", [0.0, 0.6, 0.95])
@pytest.mark.parametrize("name", list(SERIES))
def test_live_smoothing_matches_smoothing_everything(name: str, weight: float) -> None:
    values = SERIES[name]
    x = np.arange(len(values), dtype=float)
    series = ChartSeries("loss", x[:5], x[:5], values[:5])
    series.smooth(weight)
    for end in (7, 8, len(values)):  # the run grows between polls
        series.extend(x[:end], x[:end], values[:end])
        got = series.smooth(weight)
    assert np.allclose(got, ema_smooth(list(values), weight), equal_nan=True)


async def test_a_one_step_spike_is_drawn_among_a_million_points() -> None:
    class Host(App):
        def compose(self):
            yield LineChart()

    n = 1_000_000
    steps = np.arange(n, dtype=float)
    values = np.full(n, 1.0)
    values[n // 3] = 9.0
    async with Host().run_test(size=(80, 12)) as pilot:
        chart = pilot.app.query_one(LineChart)
        chart.set_series([ChartSeries("train/loss", steps, steps, values)])
        await pilot.pause()
        lines = str(chart.render()).splitlines()
    assert lines[0].strip().startswith("9"), "the y axis reaches the spike"
    top_row = lines[0][8:]
    assert top_row.strip(), "the spike's column has dots in the top row"


async def test_a_sparse_series_is_drawn_as_a_connected_line() -> None:
    """Seven points over a wide chart (a sweep over batch sizes): the line crosses every column between them."""

    class Host(App):
        def compose(self):
            yield LineChart()

    sizes = np.array([1, 2, 4, 8, 16, 32, 64], dtype=float)
    async with Host().run_test(size=(80, 12)) as pilot:
        chart = pilot.app.query_one(LineChart)
        chart.smoothing = 0.0
        chart.set_series([ChartSeries("sentences/s", sizes, sizes, np.linspace(10, 200, 7))])
        await pilot.pause()
        plot = [line[8:] for line in str(chart.render()).splitlines()[:-2]]  # rows of the plot, without y labels
    drawn = {col for row in plot for col, char in enumerate(row) if char.strip()}
    assert drawn == set(range(min(drawn), max(drawn) + 1)), "no empty columns between the points"
    assert max(drawn) - min(drawn) > 60
