"""When SQLite refuses to write: one error type, a message that names the file and what to do.

    engine = make_engine(url)          # installs `translate_write_failures` on SQLite engines
    try:
        progress.open_lesson(engine, "w01-arrays")
    except DatabaseWriteError as exc:  # read-only file or disk, full disk, a lock held too long
        show(exc.message)

`write_problem(path)` asks SQLite, before anything is written, whether the file
can be written at all (an immutable file opens fine and reads fine; only the
first write fails with "attempt to write a readonly database").
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa

from pathway.errors import PathwayError

# SQLite's primary result codes (the low byte of an extended code such as SQLITE_READONLY_DIRECTORY).
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL = 5, 6, 8, 10, 13

# A harmless write: it changes nothing, yet SQLite refuses it on a read-only file (BEGIN IMMEDIATE
# alone is not enough: in WAL mode it only takes a lock in the -shm file, which may be writable).
_PROBE = "DELETE FROM alembic_version WHERE 0"


class DatabaseWriteError(sa.exc.OperationalError, PathwayError):
    """SQLite refused a write. `message` is one paragraph for the learner.

    Still an OperationalError, so code that retries those (the labs' metric writer) keeps
    doing so; also a PathwayError, so the command line prints `message` without a traceback.
    """

    def __init__(self, original: sa.exc.DBAPIError, message: str) -> None:
        sa.exc.OperationalError.__init__(self, original.statement, original.params, original.orig, hide_parameters=True)
        self.message = message
        self.exit_code = 2
        self.busy = _primary_code(original.orig) in (SQLITE_BUSY, SQLITE_LOCKED)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # StatementError pickles by its own arguments; keep ours
        return (_rebuild, (self.message,))


def _rebuild(message: str) -> PathwayError:
    return PathwayError(message)


def _primary_code(error: BaseException | None) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def describe_write_failure(path: Path | str, error: BaseException) -> str | None:
    """The learner-facing paragraph for a refused write, or None when `error` is some other failure."""
    code, text = _primary_code(error), str(error)
    if code == SQLITE_READONLY or "readonly database" in text:
        return (
            f"The progress database {path} cannot be written (the file, its folder or its disk is "
            "read-only), so nothing can be saved. Make it writable (`lsattr` and `chattr -i` for an "
            "immutable flag, `ls -l` for permissions, `mount` for a read-only disk), or use another "
            "home with `pathway --home DIR`."
        )
    if code == SQLITE_FULL or "disk is full" in text:
        return f"The disk that holds the progress database {path} is full, so nothing can be saved. Free some space on it, then try again."
    if code in (SQLITE_BUSY, SQLITE_LOCKED) or "database is locked" in text:
        return (
            f"The progress database {path} stayed locked by another process for too long, so this was not "
            "saved. Wait for the other pathway command that uses this home to finish (an import, a lab "
            "starting), then try again."
        )
    if code == SQLITE_IOERR or "disk I/O error" in text:
        return f"The progress database {path} could not be written (disk I/O error), so nothing was saved. Check the disk it is on (`dmesg`), then try again."
    return None


def translate_write_failures(engine: sa.engine.Engine, path: Path | str) -> None:
    """Make every refused write on `engine` raise DatabaseWriteError with a message about `path`."""

    @sa.event.listens_for(engine, "handle_error")
    def _translate(context) -> BaseException | None:
        original = context.sqlalchemy_exception
        if not isinstance(original, sa.exc.OperationalError) or isinstance(original, DatabaseWriteError):
            return None
        message = describe_write_failure(path, context.original_exception)
        return None if message is None else DatabaseWriteError(original, message)


def write_problem(path: Path) -> str | None:
    """Why the existing SQLite database at `path` cannot be written, or None when it can.

    Tries a write that changes nothing inside a transaction that is rolled back. A lock held by
    another writer means the file is writable, so that is not a problem.
    """
    try:
        with closing(sqlite3.connect(path, timeout=1, isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(_PROBE)
            finally:
                conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if _primary_code(exc) in (SQLITE_BUSY, SQLITE_LOCKED):
            return None
        return describe_write_failure(path, exc)
    return None
