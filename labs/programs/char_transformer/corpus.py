"""The text the text-generation lab trains on, and its tokenizers. Nothing is downloaded.

Two sources that exist on every machine that runs pathway:

- the course's own lessons (`content/lessons/**/*.md`, English files; the
  translations would add thousands of characters to a character vocabulary), and
- the Python standard library source, found with `sysconfig.get_paths()["stdlib"]`
  (without its test suites, `site-packages` and files over 300 kB, which are
  data tables rather than code).

Validation is held-out standard-library *files* (one in twenty, chosen by a
hash of the path, so the split never changes): the model is scored on code it
never saw, and the lessons are all training text.

    >>> corpus = load_corpus(max_chars=2_000_000)
    >>> tok = CharTokenizer()
    >>> ids = tok.encode(corpus.val[:20]); tok.decode(ids) == corpus.val[:20]
    True

Pure Python and numpy: the `tokenizers` package is imported only for BPE.
"""

from __future__ import annotations

import string
import sysconfig
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import pathway
from pathway.errors import PathwayError

LESSONS_DIR = Path(pathway.__file__).resolve().parent / "content" / "lessons"  # the course shipped with pathway
SKIP_DIRS = {"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__"}
MAX_FILE_BYTES = 300_000  # pydoc_data/topics.py (757 kB of one string) and friends are not code
VAL_EVERY = 20  # one stdlib file in twenty is held out


@dataclass
class Corpus:
    """Training text (lessons + most stdlib files) and held-out stdlib text."""

    train: str
    val: str
    n_lesson_files: int
    n_stdlib_train_files: int
    n_stdlib_val_files: int
    stdlib_dir: str

    def describe(self) -> str:
        return (
            f"{len(self.train) / 1e6:.1f}M training characters ({self.n_lesson_files} lessons + "
            f"{self.n_stdlib_train_files} stdlib files), {len(self.val) / 1e3:.0f}k held-out characters "
            f"({self.n_stdlib_val_files} stdlib files from {self.stdlib_dir})"
        )


def stdlib_files(stdlib_dir: str | Path | None = None) -> list[Path]:
    """The standard library's own .py files, sorted, without tests, installed packages and data blobs."""
    root = Path(stdlib_dir or sysconfig.get_paths()["stdlib"])
    files = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if SKIP_DIRS & set(rel.parts[:-1]):
            continue
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
        except OSError:
            continue
        files.append(path)
    return files


def is_held_out(rel_path: str) -> bool:
    """Whether a stdlib file belongs to validation: a stable hash of its path, not its position."""
    return zlib.crc32(rel_path.encode()) % VAL_EVERY == 0


def load_corpus(max_chars: int = 8_000_000, stdlib_dir: str | Path | None = None, lessons_dir: Path = LESSONS_DIR) -> Corpus:
    """Read the lessons and the stdlib; `max_chars` caps the training text.

    Lessons take at most a tenth of the cap and stdlib files the rest, in a
    hash order, so a small cap still samples the whole library rather than
    the modules whose names start with "a".
    """
    root = Path(stdlib_dir or sysconfig.get_paths()["stdlib"])
    train_parts, val_parts, size = [], [], 0
    n_lessons = n_train_files = n_val_files = 0
    for path in sorted(lessons_dir.rglob("*.md")):
        if path.name.endswith(".zh.md") or size >= max_chars // 10:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        train_parts.append(text)
        size += len(text)
        n_lessons += 1
    files = {path.relative_to(root).as_posix(): path for path in stdlib_files(root)}
    for rel in sorted(files, key=lambda r: zlib.crc32(r[::-1].encode())):
        held_out = is_held_out(rel)
        if not held_out and size >= max_chars:
            continue
        try:
            text = files[rel].read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if held_out:
            val_parts.append(text)
            n_val_files += 1
        else:
            train_parts.append(text)
            size += len(text)
            n_train_files += 1
    if not val_parts or n_train_files == 0:
        raise PathwayError(
            f"Found no Python standard library source under {root} (sysconfig's 'stdlib' path). "
            "This lab trains on it; a Python installed without its .py files cannot run it."
        )
    train = "\n".join(train_parts)[:max_chars]
    return Corpus(train, "\n".join(val_parts), n_lessons, n_train_files, n_val_files, str(root))


class CharTokenizer:
    """One id per character: printable ASCII, newline and tab; anything else becomes one `UNK` id.

    A fixed alphabet (not "every character seen") keeps the vocabulary at 98
    whatever the machine's stdlib holds, so checkpoints stay compatible.
    """

    UNK = "\ufffd"

    def __init__(self) -> None:
        self.chars = ["\n", "\t"] + [c for c in string.printable if c.isprintable()] + [self.UNK]
        self.vocab_size = len(self.chars)
        self.unk_id = self.vocab_size - 1
        table = np.full(256, self.unk_id, dtype=np.uint8)
        for i, c in enumerate(self.chars[:-1]):
            table[ord(c)] = i
        self._table = table  # byte -> id, for the fast path over ASCII text

    def encode(self, text: str) -> np.ndarray:
        """Ids as uint8, one per character."""
        raw = text.encode("ascii", errors="replace")  # one byte per character; "?" stands in for non-ASCII
        ids = self._table[np.frombuffer(raw, dtype=np.uint8)]
        if not text.isascii():
            non_ascii = np.fromiter((not c.isascii() for c in text), dtype=bool, count=len(text))
            ids[non_ascii] = self.unk_id
        return ids

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in ids)

    def char_lengths(self) -> np.ndarray:
        """Characters per token: 1 for every id."""
        return np.ones(self.vocab_size, dtype=np.int64)


class BPETokenizer:
    """Byte-level BPE trained by the `tokenizers` package on the training text (as GPT-2 does, smaller)."""

    def __init__(self, train_text: str, vocab_size: int, train_chars: int = 2_000_000) -> None:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
        )
        sample = train_text[:train_chars]  # merges are learned from a prefix: seconds, not minutes
        tok.train_from_iterator((sample[i:i + 10_000] for i in range(0, len(sample), 10_000)), trainer)
        self._tok = tok
        self.vocab_size = tok.get_vocab_size()

    def encode(self, text: str) -> np.ndarray:
        lines = text.splitlines(keepends=True)  # encode_batch runs in parallel in Rust
        chunks = ["".join(lines[i:i + 200]) for i in range(0, len(lines), 200)]
        ids = [e.ids for e in self._tok.encode_batch(chunks)]
        return np.fromiter((i for row in ids for i in row), dtype=np.int32)

    def decode(self, ids) -> str:
        return self._tok.decode(list(map(int, ids)))

    def char_lengths(self) -> np.ndarray:
        """Characters per token, to turn nats per token into nats per character."""
        return np.array([len(self._tok.decode([i])) for i in range(self.vocab_size)], dtype=np.int64)
