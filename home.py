"""Where pathway keeps its database, lab runs and backups.

Order of precedence: the `--home` option, then `PATHWAY_HOME`, then the
platform's user data directory (e.g. ~/.local/share/pathway on Linux).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from platformdirs import user_data_dir

from pathway.errors import PathwayError


def resolve_home(explicit: str | os.PathLike | None = None) -> Path:
    """Return the home directory, created and checked writable."""
    chosen = explicit or os.environ.get("PATHWAY_HOME") or user_data_dir("pathway", appauthor=False)
    home = Path(chosen).expanduser().resolve()
    blocker = next((p for p in (home, *home.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        where = f"{home} is a file" if blocker == home else f"{home} cannot be made: {blocker} is a file"
        raise PathwayError(
            f"pathway's home {where}, not a folder. Choose a folder with `pathway --home DIR` or the "
            "PATHWAY_HOME environment variable, or move the file away if it does not belong there."
        )
    try:
        home.mkdir(parents=True, exist_ok=True)
        # A probe of its own: several pathway processes may start at once on the same home.
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=home)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise PathwayError(
            f"pathway cannot write to its home directory {home} ({exc.strerror or exc}). "
            "Make it writable (`ls -ld` shows its owner and permissions; `mount` shows a disk mounted "
            "read-only), or choose another place with `pathway --home DIR` or the PATHWAY_HOME "
            "environment variable."
        ) from exc
    return home


def runs_dir(home: Path) -> Path:
    """Directory that holds one folder per lab run (logs, checkpoints)."""
    path = home / "runs"
    path.mkdir(exist_ok=True)
    return path


def cache_dir(home: Path) -> Path:
    """Directory shared by every lab run of this home: generated data sets, trained tokenizers."""
    path = home / "cache"
    try:
        path.mkdir(exist_ok=True)
    except OSError:
        pass  # nothing can be cached in a read-only home; whoever writes there reports it
    return path
