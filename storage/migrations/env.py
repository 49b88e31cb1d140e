"""Alembic environment: Solace's one metadata, on the connection the caller provides."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from storage.tables import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from sqlalchemy import create_engine

        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise ValueError("no connection and no sqlalchemy.url to migrate")
        engine = create_engine(url)
        with engine.begin() as conn:
            _run(conn)
    else:
        _run(connection)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
