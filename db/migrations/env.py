"""Alembic environment: runs against the engine that pathway hands in."""

from alembic import context

from pathway.db.models import SQLModel

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite cannot ALTER most things: copy-and-move tables
        )
        context.run_migrations()


run_migrations()
