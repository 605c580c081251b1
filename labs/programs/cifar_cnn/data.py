"""CIFAR-10 python batches: the reader, and a generator of look-alike batches for offline runs.

    >>> root = ensure_generated(cache_dir, seed=0)      # writes once, then reuses the folder
    >>> data = load_cifar(root)                         # the same reader reads the real folder
    >>> data.train_x.shape, data.train_x.dtype, data.classes[:2]
    ((10000, 3, 32, 32), dtype('uint8'), ['disk', 'ring'])

The format (https://www.cs.toronto.edu/~kriz/cifar.html, "python version"):
`data_batch_1` .. `data_batch_5`, `test_batch` and `batches.meta`, each a
pickled dict with bytes keys. `b"data"` is uint8 (N, 3072): 1024 red values,
1024 green, 1024 blue, each plane 32x32 row-major, so `reshape(-1, 3, 32, 32)`
is channel-first (N, C, H, W) without a copy. `b"labels"` is a list of ints.

The generated set is written in exactly that format, so the reader cannot tell
it from the real one. Its ten classes are shapes and textures (disk, ring,
square, frame, plus, x-cross, triangle, h-stripes, v-stripes, checker) at a
random place, size and colour on a random background, with pixel noise and two
distractor blobs: colour says nothing about the class, so a model has to learn
spatial features. Pairs are similar on purpose (disk/square, ring/frame,
plus/x-cross, the stripes), so the confusion matrix has something to show.
Every class is unchanged by a horizontal flip, so flip augmentation is safe.

Pure numpy: the catalog's settings check imports this without torch.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pathway.errors import PathwayError
from pathway.files import atomic_write

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
REAL_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
GENERATED_CLASSES = ("disk", "ring", "square", "frame", "plus", "x-cross", "triangle", "h-stripes", "v-stripes", "checker")
GENERATOR_VERSION = 1  # bump when the drawing changes, so old caches are not reused
SIDE = 32


@dataclass
class CifarData:
    """Both splits as compact uint8 arrays (normalize per batch, not up front: 4x less memory)."""

    train_x: np.ndarray  # uint8 (N, 3, 32, 32)
    train_y: np.ndarray  # int64 (N,)
    test_x: np.ndarray
    test_y: np.ndarray
    classes: list[str]
    root: Path
    generated: bool  # True when the folder was written by `write_generated`

    @property
    def description(self) -> str:
        kind = "GENERATED CIFAR-format shapes (not CIFAR-10 photos)" if self.generated else "CIFAR-10 python batches"
        return f"{kind} from {self.root}: {len(self.train_y)} train / {len(self.test_y)} test images, classes {', '.join(self.classes)}"


# --- the reader ----------------------------------------------------------------------------


def find_cifar_files(root: str | os.PathLike) -> dict[str, Path]:
    """The batch files in `root` (or in its `cifar-10-batches-py` subfolder), or a PathwayError naming what is missing."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise PathwayError(f"data_dir={root} is not a folder. Give the unpacked `cifar-10-batches-py` folder "
                           "(from cifar-10-python.tar.gz), or leave data_dir empty for the generated set.")
    if not (root / TEST_FILE).exists() and (root / "cifar-10-batches-py" / TEST_FILE).exists():
        root = root / "cifar-10-batches-py"  # the parent of the unpacked archive works too
    names = (*TRAIN_FILES, TEST_FILE, META_FILE)
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        hint = ""
        if any(root.glob("*.bin")):
            hint = " This looks like the binary version (*.bin); pathway reads the python version (cifar-10-python.tar.gz)."
        raise PathwayError(
            f"data_dir={root} has no CIFAR-10 python batches: missing {', '.join(missing)}. Expected data_batch_1 .. "
            f"data_batch_5, test_batch and batches.meta (unpack cifar-10-python.tar.gz).{hint} "
            "Leave data_dir empty to train on the generated set."
        )
    return {n: root / n for n in names}


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as fh:
        try:
            return pickle.load(fh, encoding="bytes")  # Python 2 pickles: keys are bytes
        except Exception as exc:  # truncated or not a pickle at all
            raise PathwayError(f"{path} is not a readable CIFAR-10 python batch ({exc.__class__.__name__}: {exc}).") from None


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) from one batch file."""
    d = _unpickle(path)
    try:
        data = np.asarray(d[b"data"], dtype=np.uint8)
        labels = np.asarray(d[b"labels"], dtype=np.int64)
    except (KeyError, TypeError):
        raise PathwayError(f"{path} is not a CIFAR-10 python batch: it needs the keys b'data' and b'labels'.") from None
    if data.ndim != 2 or data.shape[1] != 3 * SIDE * SIDE or len(labels) != len(data):
        raise PathwayError(f"{path}: b'data' has shape {data.shape} for {len(labels)} labels; expected (N, 3072) and N labels.")
    # rows are R plane, G plane, B plane: channel-first. reshape(-1, 32, 32, 3) would scramble the pixels.
    return data.reshape(-1, 3, SIDE, SIDE), labels


def load_cifar(root: str | os.PathLike) -> CifarData:
    """Read a CIFAR-10 python folder (real or generated) into memory."""
    files = find_cifar_files(root)
    parts = [read_batch(files[n]) for n in TRAIN_FILES]
    test_x, test_y = read_batch(files[TEST_FILE])
    meta = _unpickle(files[META_FILE])
    classes = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(b"label_names", REAL_CLASSES)]
    train_y = np.concatenate([p[1] for p in parts])
    if max(train_y.max(), test_y.max()) >= len(classes) or min(train_y.min(), test_y.min()) < 0:
        raise PathwayError(f"{files[META_FILE].parent}: labels outside 0..{len(classes) - 1} of batches.meta's {len(classes)} names.")
    return CifarData(
        train_x=np.concatenate([p[0] for p in parts]), train_y=train_y, test_x=test_x, test_y=test_y,
        classes=classes, root=files[TEST_FILE].parent, generated=bool(meta.get(b"pathway_generated", False)),
    )


# --- the generator ---------------------------------------------------------------------------


def draw_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """uint8 (N, 3, 32, 32): class `labels[i]`'s shape at a random place, size and colour, plus noise."""
    n = len(labels)
    axis = np.arange(SIDE, dtype=np.float32)
    yy, xx = axis[None, :, None], axis[None, None, :]  # (1, H, 1), (1, 1, W)
    cy = rng.uniform(10, 22, (n, 1, 1)).astype(np.float32)
    cx = rng.uniform(10, 22, (n, 1, 1)).astype(np.float32)
    r = rng.uniform(5.5, 9.0, (n, 1, 1)).astype(np.float32)  # half-size of the shape
    dy, dx = yy - cy, xx - cx  # (N, H, W)
    ady, adx = np.abs(dy), np.abs(dx)
    dist = np.sqrt(dy**2 + dx**2)
    box = np.maximum(ady, adx)
    freq = rng.uniform(1.1, 1.6, (n, 1, 1)).astype(np.float32)  # stripe period of 4-6 pixels
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    half = 1.2  # half the stroke width of outlines and crosses
    masks = [
        dist <= r,                                                   # disk
        (dist <= r) & (dist >= r - 2 * half),                        # ring
        box <= 0.886 * r,                                            # square (area of the disk)
        (box <= 0.886 * r) & (box >= 0.886 * r - 2 * half),          # frame
        ((ady <= half) | (adx <= half)) & (box <= r),                # plus
        (np.abs(ady - adx) <= half * 1.4) & (box <= 0.8 * r),        # x-cross
        (dy <= r * 0.8) & (dy >= -r) & (adx <= (dy + r) * 0.55),     # triangle, apex up
        (box <= r) & (np.sin(dy * freq + phase) > 0),                # horizontal stripes in a patch
        (box <= r) & (np.sin(dx * freq + phase) > 0),                # vertical stripes in a patch
        (box <= r) & (np.sin(dy * freq + phase) * np.sin(dx * freq + phase) > 0),  # checker
    ]
    stacked = np.stack(masks, axis=1)  # (N, 10, H, W): all shapes, then pick each image's own
    mask = stacked[np.arange(n), labels].astype(np.float32)[:, None]  # (N, 1, H, W)

    background = rng.uniform(0, 255, (n, 3, 1, 1)).astype(np.float32)
    # foreground colour: a random colour pushed away from the background, so the shape is visible
    offset = rng.uniform(-1, 1, (n, 3, 1, 1)).astype(np.float32)
    offset /= np.abs(offset).max(axis=1, keepdims=True) + 1e-6
    foreground = np.clip(background + offset * rng.uniform(70, 150, (n, 1, 1, 1)), 0, 255)
    foreground = np.where(np.abs(foreground - background).max(axis=1, keepdims=True) < 60, 255 - background, foreground)
    img = background + mask * (foreground - background)
    for _ in range(2):  # distractor blobs of random colour: local colour alone is not the class
        by, bx = rng.uniform(0, SIDE, (2, n, 1, 1)).astype(np.float32)
        blob = (((yy - by) ** 2 + (xx - bx) ** 2) <= rng.uniform(1.5, 2.5, (n, 1, 1)) ** 2)[:, None]
        img = np.where(blob, rng.uniform(0, 255, (n, 3, 1, 1)).astype(np.float32), img)
    img += rng.normal(0, 20, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_generated(root: str | os.PathLike, *, per_batch: int = 2000, test_size: int = 2000, seed: int = 0) -> Path:
    """Write a generated set in the CIFAR-10 python format (5 train batches, a test batch, meta); returns `root`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, GENERATOR_VERSION])
    for name, size in [*((f, per_batch) for f in TRAIN_FILES), (TEST_FILE, test_size)]:
        labels = rng.permutation(np.arange(size) % 10)  # balanced classes, shuffled
        data = draw_images(labels, rng).reshape(size, 3 * SIDE * SIDE)  # channel-first rows, as in CIFAR
        batch = {
            b"batch_label": f"generated {name}".encode(), b"labels": labels.tolist(), b"data": data,
            b"filenames": [f"generated_{name}_{i:05d}.png".encode() for i in range(size)],
        }
        _atomic_pickle(root / name, batch)
    meta = {
        b"label_names": [c.encode() for c in GENERATED_CLASSES], b"num_cases_per_batch": per_batch, b"num_vis": 3072,
        b"pathway_generated": True, b"pathway_generator_version": GENERATOR_VERSION,  # extra keys the real set lacks
    }
    _atomic_pickle(root / META_FILE, meta)  # last: a folder with meta is complete
    return root


def _atomic_pickle(path: Path, obj: dict) -> None:
    atomic_write(path, pickle.dumps(obj, protocol=2))  # protocol 2 like the original files


def ensure_generated(cache_dir: str | os.PathLike, *, per_batch: int = 2000, test_size: int = 2000, seed: int = 0) -> Path:
    """The generated folder for these sizes and seed under `cache_dir`, written on first use."""
    root = Path(cache_dir) / f"cifar-generated-v{GENERATOR_VERSION}-n{per_batch}x5-t{test_size}-s{seed}"
    if not (root / META_FILE).exists():
        write_generated(root, per_batch=per_batch, test_size=test_size, seed=seed)
    return root
