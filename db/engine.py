"""Opening the database: engine with the SQLite pragmas, checks, backup, migrations.

`open_database(home)` is the one entry point. It refuses a file that is not
SQLite or that a newer pathway wrote, backs the file up before any schema
change, then upgrades it to the newest revision with Alembic.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pathway.db.location import DB_FILENAME, HEAD_REVISION, database_url, sqlite_path, sqlite_revision  # noqa: F401
from pathway.errors import PathwayError

BUSY_TIMEOUT_MS = 15_000  # labs write metrics while the app writes answers


def make_engine(url: str) -> Engine:
    """An engine with WAL, busy_timeout and foreign keys on SQLite; plain elsewhere."""
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000} if url.startswith("sqlite") else {})
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a commit survives an app crash
            cur.close()

    return engine


def check_sqlite_file(path: Path) -> None:
    """Raise a clear error when `path` exists but is not a readable SQLite database.

    The file is only ever opened through SQLite: closing a plain file handle to a database
    would drop the POSIX locks that this process's other connections hold on it.
    """
    if not path.exists() or path.stat().st_size == 0:
        return
    problem = None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            conn.execute("PRAGMA schema_version").fetchone()  # fails on a file that is not SQLite
            result = conn.execute("PRAGMA quick_check").fetchone()
        if result and result[0] != "ok":
            problem = f"is damaged ({result[0]})"
    except sqlite3.DatabaseError as exc:
        problem = "is not a SQLite database" if "not a database" in str(exc) else f"cannot be read ({exc})"
    if problem:
        raise PathwayError(
            f"The progress database {path} {problem}. pathway has not changed it. "
            f"Restore it from a backup (pathway keeps copies named {path.name}.bak-* beside it), "
            "or move it away to start fresh, or point pathway at another home with --home."
        )


def backup_file(path: Path, label: str) -> Path:
    """Copy the database to a timestamped file beside it, with SQLite's online backup."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bak-{label}-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.bak-{label}-{stamp}-{n}")
    with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return target


def open_database(home: Path, url: str | None = None) -> Engine:
    """Check, back up and migrate the database of `home`; return a ready engine."""
    url = url or database_url(home)
    path = sqlite_path(url)
    if path is not None:
        check_sqlite_file(path)
    engine = make_engine(url)
    if path is not None and path.exists() and sqlite_revision(path) == HEAD_REVISION:
        return engine  # the common case: nothing to migrate, and Alembic stays unimported
    from pathway.db import migrate

    try:
        migrate.upgrade_to_head(engine, backup=lambda rev: backup_file(path, rev) if path else None)
    except PathwayError:
        engine.dispose()
        raise
    except sa.exc.DatabaseError as exc:
        engine.dispose()
        raise PathwayError(
            f"The progress database {path or url} could not be opened ({exc.orig}). "
            "pathway has not changed it. Move it away to start fresh, or restore a backup."
        ) from exc
    return engine
