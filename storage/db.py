"""The SQL database: one engine per configuration and process, migrated on first use.

SQLite is the embedded default; a ``postgresql://`` URL switches to a server. Every table
is declared in ``storage.tables``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event

if TYPE_CHECKING:
    from alembic.config import Config

# Engines hold sockets, so they belong to the process that made them: the cache is keyed by
# process id and emptied in a forked child (gunicorn's workers fork from the master), and a
# child never closes or reuses its parent's connections.
_ENGINES: dict[str, Engine] = {}
_OWNER_PID = os.getpid()


def _forget_inherited_engines() -> None:
    global _OWNER_PID
    for engine in _ENGINES.values():
        engine.dispose(close=False)  # drop the parent's pool without closing its sockets
    _ENGINES.clear()
    _OWNER_PID = os.getpid()


os.register_at_fork(after_in_child=_forget_inherited_engines)


def _normalise(url: str) -> str:
    # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    return url


def get_engine(url: str) -> Engine:
    """One pooled engine per URL and process, with every table created."""
    url = _normalise(url)
    if os.getpid() != _OWNER_PID:  # forked by a route that skipped the at-fork hook
        _forget_inherited_engines()
    engine = _ENGINES.get(url)
    if engine is None:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        upgrade_schema(engine)
        _ENGINES[url] = engine
    return engine


def alembic_config(engine: Engine | None = None) -> Config:
    from pathlib import Path

    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


# the advisory lock that serialises schema migrations across processes (a constant of Solace's own)
MIGRATION_LOCK = 0x50_4C_41_43_45_02


def upgrade_schema(engine: Engine) -> None:
    """Bring the database to the newest schema with Alembic's migrations.

    On PostgreSQL one transaction-scoped advisory lock serialises replicas that start
    together: the second waits, then finds the schema current (two concurrent CREATE TABLEs
    would otherwise fail on the system catalogs)."""
    from alembic import command
    from sqlalchemy import text

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
