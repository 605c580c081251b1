"""Export and import all learning progress as one versioned JSON file.

    export_progress(engine, Path("progress.json"))
    import_progress(engine, Path("progress.json"), replace=False)

The file holds every row of the progress tables (learner settings, lesson
progress, activity, FSRS cards, the review log, mock interviews), column by
column, times as ISO 8601 UTC. Lab runs and their metrics are not progress and
stay out. Import checks the whole file before it writes anything, then writes
in one transaction: a bad file raises PathwayError naming the file and leaves
the database as it was.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, delete, select

from pathway import __version__
from pathway.db.models import Activity, Card, Learner, LessonProgress, MockInterview, ReviewLog
from pathway.errors import PathwayError
from pathway.files import atomic_write

FORMAT = "pathway-progress"
VERSION = 1
# Insert order respects foreign keys (a review may point at a mock interview).
TABLES: tuple[type[SQLModel], ...] = (Learner, LessonProgress, Activity, Card, MockInterview, ReviewLog)


def _columns(model: type[SQLModel]) -> list[sa.Column]:
    return list(model.__table__.columns)


def _dump_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return value


def export_data(engine: Engine) -> dict:
    """Every progress row as JSON-able data."""
    tables: dict[str, list[dict]] = {}
    with Session(engine) as session:
        for model in TABLES:
            names = [column.name for column in _columns(model)]
            key = model.__table__.primary_key.columns.values()[0]
            rows = session.exec(select(model).order_by(key)).all()
            tables[model.__tablename__] = [{name: _dump_value(getattr(row, name)) for name in names} for row in rows]
    return {
        "format": FORMAT,
        "version": VERSION,
        "pathway_version": __version__,
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "tables": tables,
    }


def export_progress(engine: Engine, path: Path) -> dict[str, int]:
    """Write the progress file atomically (temp file, fsync, rename); return rows per table."""
    data = export_data(engine)
    text = json.dumps(data, indent=1, ensure_ascii=False)
    path = Path(path)
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise PathwayError(f"Cannot write the progress file {path} ({exc.strerror or exc}). Choose another place.", 1) from exc
    return {name: len(rows) for name, rows in data["tables"].items()}


# --- import --------------------------------------------------------------------------------


def _bad(path: Path, reason: str) -> PathwayError:
    return PathwayError(
        f"{path} is not a progress file pathway can import: {reason}. Nothing was changed. "
        "Use a file written by `pathway export`.",
        2,
    )


def _load_value(column: sa.Column, value: Any, where: str) -> Any:
    if value is None:
        if not column.nullable and not column.primary_key:
            raise ValueError(f"{where} must not be empty")
        return None
    column_type = column.type
    kind = column_type.impl.python_type if isinstance(column_type, sa.types.TypeDecorator) else column_type.python_type
    if kind is datetime:
        if not isinstance(value, str):
            raise ValueError(f"{where} must be an ISO 8601 time")
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(f"{where} has no time zone")
        return parsed.astimezone(timezone.utc)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise ValueError(f"{where} must be of type {kind.__name__}, not {type(value).__name__}")
    return value


def parse_progress(path: Path) -> dict[str, list[dict]]:
    """Read and check a progress file; rows per table name, values ready to insert."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PathwayError(f"Cannot read {path} ({exc.strerror or exc}). Nothing was changed.", 2) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(path, f"it is not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _bad(path, f"it does not say \"format\": \"{FORMAT}\"")
    if data.get("version") != VERSION:
        raise _bad(path, f"its version {data.get('version')!r} is not one this pathway reads ({VERSION}); upgrade pathway")
    tables = data.get("tables")
    if not isinstance(tables, dict):
        raise _bad(path, "it has no \"tables\" mapping")
    unknown = sorted(set(tables) - {model.__tablename__ for model in TABLES})
    if unknown:
        raise _bad(path, f"it has unknown tables {', '.join(unknown)}")
    parsed: dict[str, list[dict]] = {}
    for model in TABLES:
        name = model.__tablename__
        rows = tables.get(name, [])
        if not isinstance(rows, list):
            raise _bad(path, f"tables.{name} is not a list")
        columns = {column.name: column for column in _columns(model)}
        keys: set = set()
        parsed[name] = []
        for index, row in enumerate(rows):
            where = f"tables.{name}[{index}]"
            if not isinstance(row, dict):
                raise _bad(path, f"{where} is not an object")
            extra = sorted(set(row) - set(columns))
            if extra:
                raise _bad(path, f"{where} has unknown fields {', '.join(extra)}")
            clean = {}
            try:
                for column_name, column in columns.items():
                    if column_name not in row:
                        if column.nullable or column.default is not None:
                            continue  # older files may lack newer optional columns
                        raise ValueError(f"{where}.{column_name} is missing")
                    clean[column_name] = _load_value(column, row[column_name], f"{where}.{column_name}")
            except ValueError as exc:
                raise _bad(path, str(exc)) from exc
            key = tuple(clean.get(c.name) for c in model.__table__.primary_key.columns)
            if key in keys:
                raise _bad(path, f"{where} repeats the key {key[0]!r}")
            keys.add(key)
            parsed[name].append(clean)
    mock_ids = {row["id"] for row in parsed["mockinterview"]}
    for index, row in enumerate(parsed["reviewlog"]):
        if row.get("mock_id") is not None and row["mock_id"] not in mock_ids:
            raise _bad(path, f"tables.reviewlog[{index}].mock_id {row['mock_id']} names no mock interview in the file")
    return parsed


def has_progress(engine: Engine) -> bool:
    """True when anything but default learner settings is stored."""
    with Session(engine) as session:
        for model in TABLES[1:]:
            if session.exec(select(model).limit(1)).first() is not None:
                return True
        learner = session.get(Learner, 1)
        return learner is not None and learner.last_lesson_id is not None


def import_progress(engine: Engine, path: Path, *, replace: bool = False) -> dict[str, int]:
    """Load a progress file into this database in one transaction; return rows per table.

    Refuses to mix progress: a database that already holds some needs `replace=True`,
    which drops it first (the caller backs the file up).
    """
    rows = parse_progress(path)
    if has_progress(engine) and not replace:
        raise PathwayError(
            f"This pathway home already holds progress, so {path} was not imported (nothing was changed). "
            "Import into a new home (--home DIR), or pass --replace to overwrite this progress "
            "(a backup of the database is kept beside it).",
            2,
        )
    try:
        with Session(engine) as session:
            for model in reversed(TABLES):
                session.exec(delete(model))
            for model in TABLES:
                for values in rows[model.__tablename__]:
                    session.add(model(**values))
                session.flush()
            session.commit()
    except sa.exc.IntegrityError as exc:
        raise _bad(Path(path), f"its rows do not fit together ({exc.orig})") from exc
    return {name: len(items) for name, items in rows.items()}
