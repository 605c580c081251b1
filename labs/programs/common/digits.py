"""scikit-learn's bundled 8x8 digits, read straight from the package's data file.

`from sklearn.datasets import load_digits` costs about a second: it pulls in
SciPy and most of scikit-learn. The digits themselves are one small gzipped CSV
inside that package (64 pixel values 0..16 and the label per row). Two labs use
them, and the ddp lab loads them once in every rank, so the file is read
directly; load_digits() stays the fallback should a scikit-learn release move it.
NumPy only.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np


def load() -> tuple[np.ndarray, np.ndarray]:
    """(x, y): 1797 images as (1797, 64) float32 in 0..1, and their int64 labels."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is not None and path.exists():
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        x, y = table[:, :-1], table[:, -1]
    else:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x, y = digits.data, digits.target
    return x.astype(np.float32) / 16.0, y.astype(np.int64)


def split(seed: int, test_fraction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): a shuffled hold-out split that depends on `seed` only."""
    x, y = load()
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = math.ceil(test_fraction * len(x))  # 360 of 1797 at 0.2
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets scaled with the train set's per-pixel mean and std (the test set must not leak into them)."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0) + 0.1  # border pixels are almost always 0: +0.1 keeps them from being blown up
    return (x_train - mean) / std, (x_test - mean) / std
