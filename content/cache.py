"""The parsed course, cached between starts and keyed by what is in the content folder.

    course = load_course_cached(content_dir, home / "cache")

Parsing every lesson and the whole question bank with pydantic takes ~0.3-0.4 s;
unpickling the result takes ~0.07 s. The key is a hash of every content file's
path, size and modification time plus pathway's version, so an edited, added or
removed file (or a new pathway) parses afresh. A cache file that cannot be read
is ignored and rewritten: the cache can only ever cost one parse.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

from pathway import __version__
from pathway.content.loader import CONTENT_DIR, Course, load_course
from pathway.files import atomic_write

PREFIX = "course-"


def fingerprint(root: Path) -> str:
    """A short hash of the folder's file names, sizes and modification times, and pathway's version."""
    digest = hashlib.blake2b(__version__.encode(), digest_size=12)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py"):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def load_course_cached(root: Path | None, cache_dir: Path) -> Course:
    """`load_course(root)`, from `cache_dir` when the content is unchanged since it was stored."""
    root = Path(root or CONTENT_DIR).resolve()
    key = hashlib.blake2b(str(root).encode(), digest_size=6).hexdigest()  # one cache per content folder
    cached = cache_dir / f"{PREFIX}{key}-{fingerprint(root)}.pickle"
    try:
        with open(cached, "rb") as fh:
            course = pickle.load(fh)  # our own file in the learner's home
        if isinstance(course, Course):
            return course
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass  # absent, torn or from a pathway whose classes changed: parse afresh
    course = load_course(root)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob(f"{PREFIX}{key}-*.pickle"):
            old.unlink(missing_ok=True)
        atomic_write(cached, pickle.dumps(course, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass  # a read-only cache only costs the next start a parse
    return course
