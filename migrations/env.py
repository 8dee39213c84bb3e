"""Alembic environment: async engines, URL from the caller, the environment or the default.

Where the URL comes from, first match wins:

1. ``config.attributes["url"]`` (set by ``bot.storage.migrate_to_head``);
2. ``alembic -x url=...`` on the command line;
3. the ``DATABASE_URL`` environment variable;
4. ``sqlalchemy.url`` in alembic.ini (left empty in the repository);
5. ``sqlite+aiosqlite:///var/bot.db`` under the repository root.
"""

from __future__ import annotations

import asyncio
import os
import sys
from logging.config import fileConfig
from pathlib import Path
from typing import Any

from alembic import context
from sqlalchemy import event, make_url, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# `alembic` run from elsewhere (or an installed script) must still import the project.
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bot.cluster import locks  # noqa: E402
from bot.storage import compat  # noqa: E402
from bot.storage.schema import metadata as target_metadata  # noqa: E402

DEFAULT_URL = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'bot.db'}"

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = config.attributes.get("url")
    if url:
        return str(url)
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return url
    url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    return url or DEFAULT_URL


def configure_context(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        # SQLite can barely ALTER a table; batch mode rebuilds it, and is harmless elsewhere.
        render_as_batch=True,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    configure_context(
        url=database_url(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    configure_context(connection=connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # replicas starting together migrate one at a time; the lock is
            # taken before Alembic reads the current revision, so a waiter finds the
            # schema at head and does nothing. Released at commit or rollback.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": locks.MIGRATIONS}
            )
        # A newer release migrated the database: serve it untouched if every step past
        # this code's head only expanded the schema (bot/storage/compat.py).
        scripts = context.script
        heads = context.get_context().get_current_heads()
        newer = compat.unknown_revision(scripts, heads)
        if newer is not None and compat.serves(connection, scripts.get_current_head(), heads):
            config.attributes["newer_compatible_revision"] = newer
            return
        context.run_migrations()
        compat.record(connection, scripts)  # in the same transaction as the migration
    if connection.in_transaction():
        # SQLite's DDL is not transactional for Alembic, so nothing committed the record
        connection.commit()


def _sqlite_migration_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # Batch mode rebuilds a table by copying it and dropping the original; with foreign
        # keys on, that DROP would fire ON DELETE CASCADE / SET NULL in the child tables
        # and silently erase data (e.g. generations losing their model version).
        cursor.execute("PRAGMA foreign_keys=OFF")
        # A running bot may hold the write lock briefly; wait for it rather than fail.
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


async def run_async_migrations() -> None:
    url = make_url(database_url())
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, poolclass=pool.NullPool)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_migration_pragmas)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
