"""Curve math for the dashboard: TensorBoard's smoothing and per-column reduction.

Pure functions on sequences and NumPy arrays; no Textual, no torch.

Smoothing is TensorBoard's debiased exponential moving average:

    last = last * w + (1 - w) * y;  n += 1;  shown = last / (1 - w ** n)

A non-finite point passes through unchanged and does not touch the state; a
constant series comes back unchanged.

    >>> ema_smooth([1.0, 2.0, 3.0], 0.5)
    [1.0, 1.6666666666666667, 2.4285714285714284]

Reduction keeps every spike: the x range is cut into one bucket per screen
column, and each bucket keeps the min, the max and the last value of the raw
points in it (W&B's approach; TensorBoard's sampling drops spikes).

    >>> cols = reduce_columns(steps, losses, columns=120)
    >>> cols.max  # a 1-step spike is still here
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

DEFAULT_SMOOTHING = 0.6  # TensorBoard's default weight


def ema_smooth(values: Sequence[float], weight: float = DEFAULT_SMOOTHING) -> list[float]:
    """TensorBoard's debiased EMA of `values` with `weight` in [0, 1)."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    values = [float(v) for v in values]
    if not values or weight == 0.0 or all(v == values[0] for v in values):
        return values  # a constant series comes back exactly (the debiasing would round it)
    out = []
    last, n = 0.0, 0
    for y in values:
        if not math.isfinite(y):
            out.append(y)  # shown as is; the running state is untouched
            continue
        last = last * weight + (1.0 - weight) * y
        n += 1
        out.append(last / (1.0 - weight**n))
    return out


def ema_smooth_array(values: Sequence[float] | np.ndarray, weight: float = DEFAULT_SMOOTHING) -> np.ndarray:
    """`ema_smooth` for long series: vectorized with SciPy's lfilter when SciPy is there.

    Same rules (non-finite points pass through, a constant series is returned
    unchanged); equal to `ema_smooth` up to float rounding. A million points take
    milliseconds instead of half a second, for when the weight slider moves.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    ys = np.array(values, dtype=np.float64)  # a copy: the result is written into it
    if ys.size == 0 or weight == 0.0 or np.all(ys == ys[0]):
        return ys
    try:
        from scipy.signal import lfilter  # installed with scikit-learn; imported on first use only
    except ImportError:
        return np.array(ema_smooth(ys.tolist(), weight))
    finite = np.isfinite(ys)
    yf = ys[finite]
    last = lfilter([1.0 - weight], [1.0, -weight], yf)  # last_n = w*last_{n-1} + (1-w)*y_n, last_0 = 0
    n = np.arange(1, yf.size + 1, dtype=np.float64)
    ys[finite] = last / (1.0 - np.power(weight, n))
    return ys


class EmaSmoother:
    """The same smoothing, fed incrementally: the dashboard smooths only the new points each poll.

    `EmaSmoother(w).extend(a) + EmaSmoother(w).extend(b)` is not the same as
    one smoother fed a then b; keep one smoother per curve and reset it when the
    weight changes. A constant-so-far series stays unchanged, as in `ema_smooth`.
    """

    def __init__(self, weight: float = DEFAULT_SMOOTHING) -> None:
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
        self.weight = weight
        self.last = 0.0
        self.n = 0
        self._first: float | None = None
        self._constant = True

    def extend(self, values: Sequence[float]) -> list[float]:
        """Smoothed values for `values`, continuing from everything fed before."""
        w = self.weight
        out = []
        for y in values:
            y = float(y)
            if self._first is None:
                self._first = y
            elif y != self._first:
                self._constant = False
            if not math.isfinite(y):
                out.append(y)
                continue
            self.last = self.last * w + (1.0 - w) * y
            self.n += 1
            out.append(y if self._constant else self.last / (1.0 - w**self.n))
        return out


@dataclass(frozen=True)
class Columns:
    """One entry per screen column; NaN where a column holds no point."""

    x: np.ndarray  # left edge of each column, in x units
    min: np.ndarray
    max: np.ndarray
    last: np.ndarray
    count: np.ndarray  # raw points per column


def reduce_columns(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    columns: int,
    x_range: tuple[float, float] | None = None,
) -> Columns:
    """Bucket the points by x into `columns` equal-width columns; keep min, max and last y of each.

    NaN values are ignored by min and max (an infinite one is a real extreme and
    is kept); "last" is the last point by x order. `x_range` fixes the axis, e.g.
    to overlay runs; by default it spans the data.
    """
    if columns < 1:
        raise ValueError("columns must be >= 1")
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape:
        raise ValueError(f"x and y differ in length: {xs.shape} vs {ys.shape}")
    lo, hi = x_range if x_range is not None else ((float(xs.min()), float(xs.max())) if xs.size else (0.0, 1.0))
    if hi <= lo:
        hi = lo + 1.0
    edges_x = lo + (hi - lo) * np.arange(columns) / columns
    empty = np.full(columns, np.nan)
    if xs.size == 0:
        return Columns(edges_x, empty, empty.copy(), empty.copy(), np.zeros(columns, dtype=np.int64))
    if xs.size > 1 and np.any(xs[1:] < xs[:-1]):  # steps arrive in order; a resumed run may not
        order = np.argsort(xs, kind="stable")
        xs, ys = xs[order], ys[order]
    # Column i holds lo + i*width <= x < lo + (i+1)*width; the last one also holds x == hi.
    # On sorted x each boundary is one binary search: O(columns * log n), not a pass per point.
    starts = np.searchsorted(xs, edges_x, side="left")
    ends = np.append(starts[1:], np.searchsorted(xs, hi, side="right"))
    count = ends - starts
    filled = count > 0
    mins, maxs, lasts = empty.copy(), empty.copy(), empty.copy()
    if filled.any():
        s, e = starts[filled], ends[filled]
        # fmin/fmax skip NaN. reduceat reduces [s_i, s_{i+1}), so the slice ends at the next start;
        # cut the values at the last end so points beyond hi stay out of the last column.
        ys_in = ys[: e[-1]]
        mins[filled] = np.fmin.reduceat(ys_in, s)
        maxs[filled] = np.fmax.reduceat(ys_in, s)
        lasts[filled] = ys[e - 1]
    return Columns(edges_x, mins, maxs, lasts, count)
