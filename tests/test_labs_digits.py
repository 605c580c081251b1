"""The bundled digits read straight from scikit-learn's data file: the same as load_digits(), without importing it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from pathway.labs.programs.common import digits


def test_direct_read_equals_load_digits():
    from sklearn.datasets import load_digits

    reference = load_digits()
    x, y = digits.load()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x * 16, reference.data)
    np.testing.assert_array_equal(y, reference.target)


def test_loading_does_not_import_scikit_learn():
    code = "import sys; from pathway.labs.programs.common import digits; digits.load(); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_split_depends_on_the_seed_only_and_standardizes_with_train_statistics():
    a, b = digits.split(0, 0.2), digits.split(0, 0.2)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    x_tr, y_tr, x_te, y_te = a
    assert len(x_te) == 360 and len(x_tr) == 1797 - 360
    assert not np.array_equal(digits.split(1, 0.2)[3], y_te)
    s_tr, s_te = digits.standardize(x_tr, x_te)
    np.testing.assert_allclose(s_tr.mean(axis=0), 0, atol=1e-5)
    assert abs(float(s_te.mean())) > 1e-4  # the test set is scaled with the train statistics, not its own
