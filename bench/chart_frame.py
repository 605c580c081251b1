"""How long does one chart frame take with a million points? Side by side with a thousand.

    .venv/bin/python bench/chart_frame.py [--columns 120] [--repeats 21]

A frame of the loss chart reduces the raw series and its smoothed copy to one
(min, max, last) triple per screen column (`curves.reduce_columns`). Smoothing
is incremental while a run is live (`EmaSmoother`), so it is not per frame; its
one-off cost over the whole series (when the weight slider moves) is printed
too. Goal: <= 20 ms per frame at 1,000,000 points.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import numpy as np

from pathway.tui.widgets.curves import ema_smooth_array, reduce_columns


def series(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A noisy decaying loss with one spike, like a real run."""
    rng = np.random.default_rng(0)
    steps = np.arange(1, n + 1, dtype=np.float64)
    loss = 2.5 * np.exp(-steps / (n / 5)) + 0.05 * rng.standard_normal(n) + 0.1
    loss[n // 2] = 50.0
    return steps, loss


def frame_ms(steps: np.ndarray, raw: np.ndarray, smooth: np.ndarray, columns: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        reduce_columns(steps, raw, columns)
        reduce_columns(steps, smooth, columns)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--columns", type=int, default=120)
    ap.add_argument("--repeats", type=int, default=21)
    args = ap.parse_args()

    ema_smooth_array([1.0, 2.0], 0.6)  # import SciPy's lfilter once, outside the timings
    results = {}
    for n in (1_000, 1_000_000):
        steps, raw = series(n)
        t0 = time.perf_counter()
        smooth = ema_smooth_array(raw, 0.6)
        smooth_ms = (time.perf_counter() - t0) * 1000
        cols = reduce_columns(steps, raw, args.columns)
        assert np.nanmax(cols.max) == 50.0, "the spike must survive the reduction"
        results[n] = (frame_ms(steps, raw, smooth, args.columns, args.repeats), smooth_ms)
    small, big = results[1_000], results[1_000_000]
    print(f"{'points':>10} {'frame ms (median)':>18} {'full re-smooth ms':>18}")
    for n, (frame, smooth) in results.items():
        print(f"{n:>10,} {frame:18.2f} {smooth:18.2f}")
    print(f"1M vs 1k frame time ratio: {big[0] / small[0]:.1f}x; 1M frame {big[0]:.2f} ms (goal <= 20 ms) -> "
          f"{'OK' if big[0] <= 20 else 'OVER'}")
    widget = asyncio.run(widget_frames(args.repeats))
    print("\nWhole chart widget frame (reduce raw + smoothed, braille drawing, axes) at 100x30, live run growing by 500 points a poll:")
    for n, ms in widget.items():
        print(f"{n:>10,} {ms:18.2f} ms")
    print(f"1M vs 1k widget frame ratio: {widget[1_000_000] / widget[1_000]:.1f}x; 1M frame {widget[1_000_000]:.2f} ms (goal <= 20 ms)")
    return 0


async def widget_frames(repeats: int) -> dict[int, float]:
    """Median time of LineChart.render() while the series grows, as on a live run's poll."""
    from textual.app import App

    from pathway.tui.widgets.line_chart import ChartSeries, LineChart

    class Host(App):
        def compose(self):
            yield LineChart()

    out = {}
    async with Host().run_test(size=(100, 30)) as pilot:
        chart = pilot.app.query_one(LineChart)
        for n in (1_000, 1_000_000):
            steps, raw = series(n + 500 * repeats)
            curve = ChartSeries("train/loss", steps[:n], steps[:n], raw[:n])
            chart.set_series([curve])
            chart.render()  # the first frame smooths everything once
            times = []
            for i in range(1, repeats + 1):
                end = n + 500 * i
                curve.extend(steps[:end], steps[:end], raw[:end])
                t0 = time.perf_counter()
                chart.render()
                times.append(time.perf_counter() - t0)
            out[n] = statistics.median(times) * 1000
    return out


if __name__ == "__main__":
    sys.exit(main())
