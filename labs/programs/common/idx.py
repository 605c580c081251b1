"""Reading MNIST-style IDX files (the format of yann.lecun.com's MNIST), plain or gzipped.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), one big-endian uint32 per dimension, then the data in C order.
NumPy only, so the config check can look for the files without importing torch.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from pathway.errors import PathwayError

# name in the dataset -> the stem of the file; some mirrors write "train-images.idx3-ubyte"
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def find_mnist_files(folder: str | Path) -> dict[str, Path]:
    """Locate the four MNIST IDX files in `folder` (optionally `.gz`), or say which are missing."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise PathwayError(f"data_dir {root} is not a folder. Point it at a folder with the MNIST IDX files, or leave it empty to use the bundled digits.")
    found: dict[str, Path] = {}
    for key, stem in MNIST_FILES.items():
        dotted = stem.replace("-idx", ".idx")  # train-images.idx3-ubyte
        for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
            if (root / name).is_file():
                found[key] = root / name
                break
    missing = [MNIST_FILES[k] for k in MNIST_FILES if k not in found]
    if missing:
        raise PathwayError(
            f"data_dir {root} lacks the MNIST {'file' if len(missing) == 1 else 'files'} {', '.join(missing)} (plain or .gz). "
            "pathway downloads nothing: copy the four IDX files there, or leave data_dir empty for the bundled 8x8 digits."
        )
    return found


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file into an array of its stored shape and type."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise PathwayError(f"{path} is not an IDX file (bad magic number). Use the original MNIST files.")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=_DTYPES[raw[2]], offset=4 + 4 * ndim)
    return data.reshape(shape)  # a truncated file fails here, loudly
