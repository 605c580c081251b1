"""Alembic, driven from code: where the schema is, what revision a database is at."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from pathway.errors import PathwayError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def upgrade_to_head(engine: Engine, backup: Callable[[str], object], target: str = "head") -> None:
    """Upgrade to `target`; call `backup(revision)` first when an existing schema will change."""
    cfg = alembic_config(engine)
    scripts = ScriptDirectory.from_config(cfg)
    current = current_revision(engine)
    if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
        raise PathwayError(
            f"The progress database was written by a newer version of pathway (schema revision "
            f"{current}, this version knows up to {scripts.get_current_head()}). pathway has not "
            "changed it. Upgrade pathway (git pull, then the README's set-up command), or use "
            "another home with --home."
        )
    wanted = scripts.get_current_head() if target == "head" else target
    if current == wanted:
        return
    if current is not None:
        backup(current)
    command.upgrade(cfg, target)
