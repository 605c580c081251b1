"""Where the database is and which schema revision it holds, with the standard library only.

Kept apart from `engine` (SQLAlchemy) so that start-up can read these before
SQLAlchemy is imported: see `glance`.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

DB_FILENAME = "pathway.db"
HEAD_REVISION = "0004"  # newest migration; a test checks it against Alembic's head


def database_url(home: Path) -> str:
    return os.environ.get("PATHWAY_DB_URL") or f"sqlite:///{home / DB_FILENAME}"


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite URL, or None for memory or other databases."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix or ":memory:" in url:
        return None
    return Path(url[len(prefix):])


def sqlite_revision(path: Path) -> str | None:
    """The schema revision stamped in a SQLite file, read without Alembic (it is slow to import)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None
