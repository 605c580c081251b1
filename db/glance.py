"""A first look at the learner's progress with the standard library's sqlite3, before SQLAlchemy loads.

    glance = progress_glance(home)    # None when it cannot be read this way
    glance.completed, glance.language, glance.last_lesson_id

Start-up draws Home's progress line from this, while SQLAlchemy (~0.4 s to
import) and the rest load. It reads only a SQLite file already at the newest
schema, read-only; anything else (no file yet, an older schema that needs
migrating, another database through PATHWAY_DB_URL) gives None, and Home
simply waits for the full load.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from pathway.db.location import HEAD_REVISION, database_url, sqlite_path, sqlite_revision


@dataclass(frozen=True)
class ProgressGlance:
    completed: frozenset[str]  # ids of completed lessons
    language: str
    last_lesson_id: str | None


def progress_glance(home: Path) -> ProgressGlance | None:
    """Completed lessons and the learner's language, or None when the database cannot be read this cheaply."""
    path = sqlite_path(database_url(home))
    if path is None or not path.exists() or sqlite_revision(path) != HEAD_REVISION:
        return None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            done = {row[0] for row in conn.execute("SELECT lesson_id FROM lessonprogress WHERE status = 'completed'")}
            learner = conn.execute("SELECT language, last_lesson_id FROM learner ORDER BY id LIMIT 1").fetchone()
    except sqlite3.Error:
        return None  # busy or damaged: the full load will say what is wrong
    language, last = learner if learner else ("en", None)
    return ProgressGlance(completed=frozenset(done), language=language or "en", last_lesson_id=last)
