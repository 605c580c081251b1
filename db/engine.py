"""Opening the database: engine with the SQLite pragmas, checks, backup, migrations.

`open_database(home)` is the one entry point. It refuses a file that is not
SQLite or that a newer pathway wrote, backs the file up before any schema
change, then upgrades it to the newest revision with Alembic. Processes that
start at once on a new home take turns (a lock file beside the database), so
the schema is created once. A database that cannot be written is refused,
unless the caller only reads (`allow_read_only=True`, then see `write_problem`).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pathway.db.failures import DatabaseWriteError, translate_write_failures, write_problem  # noqa: F401 (re-exported)
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

        path = sqlite_path(url)
        translate_write_failures(engine, path if path is not None else url)
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
            f"The progress database {path} {problem}. pathway has not changed it. {_backup_advice(path)} "
            "Or move it away to start fresh, or point pathway at another home with --home."
        )


def backups_of(path: Path) -> list[Path]:
    """The backup copies of `path` that `backup_file` made, oldest first."""
    return sorted(path.parent.glob(f"{path.name}.bak-*"), key=lambda p: p.stat().st_mtime)


def _backup_advice(path: Path) -> str:
    backups = backups_of(path)
    if not backups:
        return "There is no backup of it (pathway makes one beside it before each schema change and before an import)."
    newest = backups[-1]
    made = datetime.fromtimestamp(newest.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    others = f" ({len(backups) - 1} older beside it)" if len(backups) > 1 else ""
    return f"To restore the newest backup, {newest.name} (made {made}){others}, move the damaged file away and copy the backup to {path}."


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


@contextmanager
def creation_lock(path: Path | None) -> Iterator[None]:
    """Hold `<database>.lock` while the schema is created or migrated, so that processes take turns.

    Without it, two processes starting on a new home both create the tables and one fails
    with "table ... already exists". Where the lock file cannot be made (a read-only folder)
    there is nothing to create either; the write check then says what is wrong.
    """
    if path is None:
        yield
        return
    try:
        fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor closes, even if this process dies
        yield
    finally:
        os.close(fd)


def open_database(home: Path, url: str | None = None, *, allow_read_only: bool = False) -> Engine:
    """Check, back up and migrate the database of `home`; return a ready engine.

    A database that cannot be written raises DatabaseWriteError, unless `allow_read_only`
    (for callers that only read, such as the TUI's browsing or `pathway stats`).
    A database that needs creating or migrating must be writable either way.
    """
    url = url or database_url(home)
    path = sqlite_path(url)
    if path is not None:
        check_sqlite_file(path)
    engine = make_engine(url)
    if path is None or not path.exists() or sqlite_revision(path) != HEAD_REVISION:
        with creation_lock(path):
            if path is None or not path.exists() or sqlite_revision(path) != HEAD_REVISION:  # another process may have done it
                _migrate(engine, path, url)
    if path is not None and not allow_read_only:
        problem = write_problem(path)
        if problem is not None:
            engine.dispose()
            raise PathwayError(problem)
    return engine


def read_only_reason(home: Path, url: str | None = None) -> str | None:
    """Why the database of `home` cannot be written (one paragraph), or None when it can."""
    path = sqlite_path(url or database_url(home))
    return write_problem(path) if path is not None and path.exists() else None


def _migrate(engine: Engine, path: Path | None, url: str) -> None:
    from pathway.db import migrate  # slow to import; only needed when the schema changes

    try:
        migrate.upgrade_to_head(engine, backup=lambda rev: backup_file(path, rev) if path else None)
    except PathwayError:
        engine.dispose()
        raise
    except sa.exc.DatabaseError as exc:
        engine.dispose()
        advice = _backup_advice(path) if path is not None else "Restore it from a backup of yours."
        raise PathwayError(
            f"The progress database {path or url} could not be opened ({exc.orig}). "
            f"pathway has not changed it. {advice} Or move it away to start fresh."
        ) from exc
