"""Export and import all learning progress, and the lab runs, as one versioned JSON file.

    export_progress(engine, Path("progress.json"))
    import_progress(engine, Path("progress.json"), known=Known(...), runs_root=home / "runs")

The file holds every row of the progress tables (learner settings, lesson
progress, activity, FSRS cards, the review log, mock interviews) and of the lab
tables (runs with their final metrics, and every step metric, so curves can be
drawn again), column by column, times as ISO 8601 UTC.

Import checks the whole file before it writes anything: each value's type, then
what it may hold (`transfer_rules`: ranges, choices, JSON text, ids that name a
lesson, question or lab that exists), and that rows point at rows in the file.
The first bad value is reported by table, index and field, and nothing changes.
Then it writes in one transaction.

A run's files (log, checkpoints, sample) live in `<home>/runs/<id>/` and are not
in the file. An imported run points at `<new home>/runs/<id>/`: copy that folder
along to keep them. A run that was still going when exported arrives as
`interrupted`: its process stayed on the other machine.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from pathway import __version__
from pathway.db.models import Activity, Card, Learner, LessonProgress, Metric, MockInterview, ReviewLog, Run
from pathway.db.transfer_rules import Known, check_row
from pathway.errors import PathwayError
from pathway.files import atomic_write

FORMAT = "pathway-progress"
VERSION = 2  # 2 added the lab tables (run, metric); files of version 1 still import
READABLE_VERSIONS = (1, 2)
# Insert order respects foreign keys (a review may point at a mock interview, a metric at a run).
TABLES: tuple[type[SQLModel], ...] = (Learner, LessonProgress, Activity, Card, MockInterview, ReviewLog, Run, Metric)
RUN_STILL_GOING = ("queued", "running")  # pathway.labs.engine.status.ACTIVE (db does not import labs)


def _columns(model: type[SQLModel]) -> list[sa.Column]:
    return list(model.__table__.columns)


def _dump_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return value


def export_data(engine: Engine) -> dict:
    """Every progress and lab row as JSON-able data."""
    tables: dict[str, list[dict]] = {}
    with engine.connect() as conn:
        for model in TABLES:
            table = model.__table__
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()
            tables[table.name] = [{name: _dump_value(value) for name, value in row.items()} for row in rows]
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
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=True)  # a diverged run's loss may be NaN
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


def parse_progress(path: Path, known: Known | None = None) -> dict[str, list[dict]]:
    """Read and check a progress file; rows per table name, values ready to insert.

    `known` holds the lesson, question and lab ids rows may name (unchecked where None).
    """
    known = known or Known()
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PathwayError(f"Cannot read {path} ({exc.strerror or exc}). Nothing was changed.", 2) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(path, f"it is not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _bad(path, f"it does not say \"format\": \"{FORMAT}\"")
    if data.get("version") not in READABLE_VERSIONS:
        raise _bad(
            path,
            f"its version {data.get('version')!r} is not one this pathway reads "
            f"({', '.join(map(str, READABLE_VERSIONS))}); upgrade pathway",
        )
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
            refused = check_row(name, clean, known)
            if refused is not None:
                raise _bad(path, f"{where}.{refused[0]} {refused[1]}")
            key = tuple(clean.get(c.name) for c in model.__table__.primary_key.columns)
            if key in keys:
                raise _bad(path, f"{where} repeats the key {key[0]!r}")
            keys.add(key)
            parsed[name].append(clean)
    mock_ids = {row["id"] for row in parsed["mockinterview"]}
    for index, row in enumerate(parsed["reviewlog"]):
        if row.get("mock_id") is not None and row["mock_id"] not in mock_ids:
            raise _bad(path, f"tables.reviewlog[{index}].mock_id {row['mock_id']} names no mock interview in the file")
    run_ids = {row["id"] for row in parsed["run"]}
    for index, row in enumerate(parsed["metric"]):
        if row["run_id"] not in run_ids:
            raise _bad(path, f"tables.metric[{index}].run_id {row['run_id']} names no run in the file")
    return parsed


def _arrived_run(row: dict, runs_root: Path | None) -> dict:
    """A run as it lands in another home: no process here, its folder under this home's runs/."""
    row = {**row, "pid": None, "pid_create_time": None}
    if runs_root is not None and row.get("id") is not None:
        row["run_dir"] = str(runs_root / str(row["id"]))
    if row.get("status") in RUN_STILL_GOING:
        row["status"] = "interrupted"
        row["error"] = "It was still going when it was exported; its process stayed on the machine it ran on."
    return row


def active_runs(engine: Engine) -> list[int]:
    """Ids of runs that a runner owns (or is about to) in this database."""
    with engine.connect() as conn:
        return list(conn.execute(sa.select(Run.id).where(Run.status.in_(RUN_STILL_GOING))).scalars())


def has_progress(engine: Engine) -> bool:
    """True when anything but default learner settings is stored (lab runs count)."""
    with engine.connect() as conn:
        for model in TABLES[1:]:
            if conn.execute(sa.select(model.__table__).limit(1)).first() is not None:
                return True
        last = conn.execute(sa.select(Learner.last_lesson_id).where(Learner.id == 1)).scalar()
        return last is not None


def import_progress(
    engine: Engine, path: Path, *, replace: bool = False, known: Known | None = None, runs_root: Path | None = None
) -> dict[str, int]:
    """Load a progress file into this database in one transaction; return rows per table.

    Refuses to mix progress: a database that already holds some needs `replace=True`,
    which drops it first (the caller backs the file up). `runs_root` is this home's
    runs folder, where imported runs will look for their files.
    """
    rows = parse_progress(path, known)
    if has_progress(engine) and not replace:
        raise PathwayError(
            f"This pathway home already holds progress, so {path} was not imported (nothing was changed). "
            "Import into a new home (--home DIR), or pass --replace to overwrite this progress "
            "(a backup of the database is kept beside it).",
            2,
        )
    going = active_runs(engine)
    if going:
        raise PathwayError(
            f"Lab runs {', '.join(f'#{i}' for i in going)} are still going in this home, and --replace would "
            f"delete them, so {path} was not imported (nothing was changed). Stop them first "
            "(`pathway lab stop RUN`), or import into a new home (--home DIR).",
            2,
        )
    rows["run"] = [_arrived_run(row, runs_root) for row in rows["run"]]
    try:
        with engine.begin() as conn:
            for model in reversed(TABLES):
                conn.execute(sa.delete(model.__table__))
            for model in TABLES:
                table_rows = [{c.name: r[c.name] for c in model.__table__.columns if c.name in r} for r in rows[model.__tablename__]]
                for batch in _same_keys(table_rows):  # executemany needs the same columns in each row
                    conn.execute(sa.insert(model.__table__), batch)
    except sa.exc.IntegrityError as exc:
        raise _bad(Path(path), f"its rows do not fit together ({exc.orig})") from exc
    return {name: len(items) for name, items in rows.items()}


def _same_keys(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive runs of rows with the same columns (older files may leave optional ones out)."""
    batches: list[list[dict[str, Any]]] = []
    for row in rows:
        if batches and batches[-1][0].keys() == row.keys():
            batches[-1].append(row)
        else:
            batches.append([row])
    return batches
