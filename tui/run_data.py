"""Metric rows of one run, accumulated per name into growing NumPy arrays for the charts.

Polling fetches only rows with an id above the last one seen; when a run is resumed the lab
rewinds (deletes rows past its checkpoint), so the screen calls `reset()` and reloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class MetricArrays:
    steps: np.ndarray = field(default_factory=lambda: np.empty(0))
    times: np.ndarray = field(default_factory=lambda: np.empty(0))
    values: np.ndarray = field(default_factory=lambda: np.empty(0))

    def extend(self, steps: list[float], times: list[float], values: list[float]) -> None:
        self.steps = np.concatenate([self.steps, steps])
        self.times = np.concatenate([self.times, times])
        self.values = np.concatenate([self.values, values])


class RunData:
    """All metrics of one run seen so far, keyed by name (`train/loss`, `sys/cpu_percent`, …)."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.reset()

    def reset(self) -> None:
        self.metrics: dict[str, MetricArrays] = {}
        self.last_id = 0
        self.start_time: float | None = None

    def add(self, rows) -> None:
        """Append rows (objects with id, step, t, name, value), in id order."""
        if not rows:
            return
        grouped: dict[str, tuple[list, list, list]] = {}
        for row in rows:
            steps, times, values = grouped.setdefault(row.name, ([], [], []))
            steps.append(row.step)
            times.append(row.t)
            values.append(row.value)
        for name, (steps, times, values) in grouped.items():
            self.metrics.setdefault(name, MetricArrays()).extend(steps, times, values)
        self.last_id = rows[-1].id
        first_t = min(row.t for row in rows)
        self.start_time = first_t if self.start_time is None else min(self.start_time, first_t)

    def get(self, name: str) -> MetricArrays | None:
        return self.metrics.get(name)

    def latest(self, name: str) -> float | None:
        arrays = self.metrics.get(name)
        return float(arrays.values[-1]) if arrays is not None and arrays.values.size else None

    def names(self, prefix: str) -> list[str]:
        return sorted(name for name in self.metrics if name.startswith(prefix))

    def seconds(self, name: str) -> np.ndarray:
        arrays = self.metrics[name]
        return arrays.times - (self.start_time or 0.0)
