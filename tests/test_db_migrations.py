"""The database: pragmas, migrations from every revision, backups, and refusals."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session

from pathway.db import migrate
from pathway.db.engine import make_engine, open_database
from pathway.db.models import LessonProgress, SQLModel, utcnow
from pathway.errors import PathwayError
from pathway.home import resolve_home


def test_fresh_database_is_at_head_with_pragmas(home: Path) -> None:
    engine = open_database(home)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    assert not list(home.glob("pathway.db.bak-*")), "a new database needs no backup"


def test_models_match_migrations(engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"render_as_batch": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_upgrade_from_first_revision_keeps_data_and_makes_backup(home: Path) -> None:
    engine = make_engine(f"sqlite:///{home / 'pathway.db'}")
    migrate.upgrade_to_head(engine, backup=lambda rev: None, target="0001")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO lessonprogress (lesson_id, status, scroll_y) VALUES ('w01-arrays', 'completed', 3.0)"
        )
    engine.dispose()

    upgraded = open_database(home)
    assert migrate.current_revision(upgraded) == migrate.head_revision()
    with Session(upgraded) as session:
        assert session.get(LessonProgress, "w01-arrays").status == "completed"
    backups = list(home.glob("pathway.db.bak-0001-*"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        assert conn.execute("SELECT lesson_id FROM lessonprogress").fetchall() == [("w01-arrays",)]


def test_reopening_at_head_makes_no_backup(home: Path) -> None:
    open_database(home).dispose()
    open_database(home).dispose()
    assert not list(home.glob("pathway.db.bak-*"))


def test_utc_times_round_trip_aware(engine) -> None:
    now = utcnow()
    with Session(engine) as session:
        session.add(LessonProgress(lesson_id="x-1", started_at=now))
        session.commit()
    with Session(engine) as session:
        assert session.get(LessonProgress, "x-1").started_at == now.replace(microsecond=now.microsecond)


def test_not_a_database_is_refused_and_left_alone(home: Path) -> None:
    path = home / "pathway.db"
    path.write_bytes(b"these are my notes, not a database\n" * 10)
    before = path.read_bytes()
    with pytest.raises(PathwayError) as info:
        open_database(home)
    assert "is not a SQLite database" in info.value.message
    assert str(path) in info.value.message
    assert "There is no backup of it" in info.value.message and ".bak-*" not in info.value.message
    assert path.read_bytes() == before


def test_damaged_database_message_names_the_newest_backup(home: Path) -> None:
    from pathway.db.engine import backup_file

    open_database(home).dispose()
    path = home / "pathway.db"
    older = backup_file(path, "0002")
    newest = backup_file(path, "0003")
    os.utime(older, (1_600_000_000, 1_600_000_000))  # made long ago
    path.write_bytes(b"garbage " * 100)
    with pytest.raises(PathwayError) as info:
        open_database(home)
    message = info.value.message
    assert newest.name in message and "1 older beside it" in message and "copy the backup to" in message


def test_newer_schema_is_refused(home: Path) -> None:
    open_database(home).dispose()
    with sqlite3.connect(home / "pathway.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(PathwayError) as info:
        open_database(home)
    assert "newer version of pathway" in info.value.message
    with sqlite3.connect(home / "pathway.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("9999",)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; checked below with a file in the way")
def test_unwritable_home_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(PathwayError) as info:
        resolve_home(locked / "home")
    assert "cannot write" in info.value.message


def test_home_blocked_by_a_file_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    for inside in (blocker, blocker / "home"):  # the home itself, or a folder above it, is a file
        with pytest.raises(PathwayError) as info:
            resolve_home(inside)
        assert f"{blocker} is a file, not a folder" in info.value.message and "move the file away" in info.value.message
        assert "--home" in info.value.message and "permissions" not in info.value.message


def test_head_constant_matches_alembic() -> None:
    from pathway.db.engine import HEAD_REVISION

    assert HEAD_REVISION == migrate.head_revision(), "update HEAD_REVISION in db/engine.py with each migration"
