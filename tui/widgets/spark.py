"""One-line sparklines that keep each column's maximum, so short spikes stay visible."""

from __future__ import annotations

import numpy as np

from pathway.tui.widgets.curves import reduce_columns

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: np.ndarray, width: int, top: float | None = None) -> str:
    """`values` squeezed into `width` characters; `top` fixes the full-bar value (e.g. 100 for %)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or width < 1:
        return ""
    columns = min(width, values.size)
    peaks = reduce_columns(np.arange(values.size), values, columns).max
    finite = peaks[np.isfinite(peaks)]
    if finite.size == 0:
        return " " * columns
    high = top if top else max(float(finite.max()), 1e-12)
    out = []
    for peak in peaks:
        if not np.isfinite(peak):
            out.append(" ")
        else:
            out.append(BARS[int(np.clip(peak / high, 0, 1) * (len(BARS) - 1))])
    return "".join(out)
