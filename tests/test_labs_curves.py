"""TensorBoard smoothing against hand-computed values, and per-column reduction that keeps spikes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pathway.tui.widgets.curves import EmaSmoother, ema_smooth, ema_smooth_array, reduce_columns


class TestSmoothing:
    def test_matches_hand_computed_values(self):
        # w = 0.5: last = 0.5, 1.25, 2.125; debiased by 1 - 0.5**n = 0.5, 0.75, 0.875
        assert ema_smooth([1.0, 2.0, 3.0], 0.5) == pytest.approx([1.0, 1.25 / 0.75, 2.125 / 0.875])

    def test_default_weight_is_tensorboards(self):
        # w = 0.6: last = 0.4*10 = 4 -> 10; last = 4*0.6 + 0.4*0 = 2.4 -> 2.4 / (1 - 0.36) = 3.75
        assert ema_smooth([10.0, 0.0]) == pytest.approx([10.0, 3.75])

    def test_non_finite_points_pass_through_without_touching_the_state(self):
        out = ema_smooth([1.0, math.nan, 2.0, math.inf, 3.0], 0.5)
        assert math.isnan(out[1]) and out[3] == math.inf
        assert [out[0], out[2], out[4]] == pytest.approx(ema_smooth([1.0, 2.0, 3.0], 0.5))

    def test_constant_series_is_returned_unchanged(self):
        assert ema_smooth([0.1] * 50, 0.99) == [0.1] * 50
        assert ema_smooth_array([0.1] * 50, 0.99).tolist() == [0.1] * 50
        smoother = EmaSmoother(0.99)
        assert smoother.extend([0.1] * 20) + smoother.extend([0.1] * 30) == [0.1] * 50

    def test_weight_zero_is_the_raw_series(self):
        assert ema_smooth([3.0, 1.0, 2.0], 0.0) == [3.0, 1.0, 2.0]

    def test_vectorized_and_incremental_forms_agree(self):
        rng = np.random.default_rng(1)
        y = rng.normal(size=3000).cumsum()
        y[[7, 100]] = [np.nan, -np.inf]
        reference = ema_smooth(y.tolist(), 0.9)
        np.testing.assert_allclose(ema_smooth_array(y, 0.9), reference, rtol=1e-9)
        smoother = EmaSmoother(0.9)
        incremental = smoother.extend(y[:1234]) + smoother.extend(y[1234:])
        np.testing.assert_allclose(incremental, reference, rtol=1e-12)

    def test_bad_weight_is_rejected(self):
        with pytest.raises(ValueError):
            ema_smooth([1.0], 1.0)


class TestReduceColumns:
    def test_a_one_point_spike_keeps_its_maximum(self):
        steps = np.arange(1_000_000)
        loss = np.full(steps.size, 0.5)
        loss[654_321] = 42.0
        cols = reduce_columns(steps, loss, columns=120)
        assert np.nanmax(cols.max) == 42.0
        assert cols.max[int(654_321 * 120 / 999_999)] == 42.0
        assert np.all(cols.min == 0.5)
        assert cols.count.sum() == steps.size

    def test_min_max_last_per_column(self):
        cols = reduce_columns([0, 1, 2, 3], [5.0, 1.0, 7.0, 2.0], columns=2)  # columns [0, 1.5) and [1.5, 3]
        assert cols.min.tolist() == [1.0, 2.0]
        assert cols.max.tolist() == [5.0, 7.0]
        assert cols.last.tolist() == [1.0, 2.0]
        assert cols.count.tolist() == [2, 2]

    def test_empty_columns_are_nan_and_nan_values_are_skipped(self):
        cols = reduce_columns([0, 1, 10], [1.0, np.nan, 3.0], columns=5)
        assert cols.count.tolist() == [2, 0, 0, 0, 1]
        assert cols.max[0] == 1.0 and np.isnan(cols.max[1])
        assert cols.max[4] == 3.0

    def test_unsorted_x_and_a_fixed_range(self):
        cols = reduce_columns([3, 1, 2, 50], [30.0, 10.0, 20.0, 99.0], columns=2, x_range=(0, 4))
        assert cols.count.tolist() == [1, 2]  # x=50 is outside the range
        assert cols.max.tolist() == [10.0, 30.0]
        assert cols.last.tolist() == [10.0, 30.0]

    def test_no_points(self):
        cols = reduce_columns([], [], columns=3)
        assert cols.count.tolist() == [0, 0, 0] and np.all(np.isnan(cols.max))
