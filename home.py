"""Where pathway keeps its database, lab runs and backups.

Order of precedence: the `--home` option, then `PATHWAY_HOME`, then the
platform's user data directory (e.g. ~/.local/share/pathway on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

from pathway.errors import PathwayError


def resolve_home(explicit: str | os.PathLike | None = None) -> Path:
    """Return the home directory, created and checked writable."""
    chosen = explicit or os.environ.get("PATHWAY_HOME") or user_data_dir("pathway", appauthor=False)
    home = Path(chosen).expanduser().resolve()
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise PathwayError(
            f"pathway cannot write to its home directory {home} ({exc.strerror or exc}). "
            "Fix the directory's permissions, or choose another place with "
            "`pathway --home DIR` or the PATHWAY_HOME environment variable."
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
    path.mkdir(exist_ok=True)
    return path
