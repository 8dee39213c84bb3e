"""PostgreSQL advisory locks that serialise what N replicas starting at once would race on.

Two keys, fixed numbers any process of this project agrees on:

* ``MIGRATIONS``: taken by ``migrations/env.py`` inside the migration transaction
  (``pg_advisory_xact_lock``), so concurrent upgrades (each replica's start-up, the
  container entry point's ``bot.ops migrate``) run one after the other, and the second
  finds the schema at head and does nothing;
* ``DEFAULT_MODEL``: held by a replica while it makes sure an active model exists
  (possibly training and registering the default one). The others wait, then find the
  version it registered and load it instead of training their own.

Session-level locks are held on one dedicated connection, so a replica killed while
holding one releases it when PostgreSQL notices the connection is gone. On SQLite (one
process) both are no-ops.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import metrics

# "charlstm" in ASCII, plus a small number per purpose: unlikely to clash with another
# application's advisory locks in a shared database.
MIGRATIONS = 0x636861726C73_01
DEFAULT_MODEL = 0x636861726C73_02
LOCK_NAMES = {MIGRATIONS: "migrations", DEFAULT_MODEL: "default_model"}  # metrics labels


@asynccontextmanager
async def advisory_lock(engine: AsyncEngine, key: int) -> AsyncIterator[None]:
    """Hold the session-level advisory lock ``key`` for the block (PostgreSQL only)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as connection:
        asked = time.perf_counter()
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        metrics.LOCK_WAIT.labels(LOCK_NAMES.get(key, "other")).observe(time.perf_counter() - asked)
        # A session lock outlives the transaction: commit, so the connection does not sit
        # "idle in transaction" while the holder trains the default model.
        await connection.commit()
        try:
            yield
        finally:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            await connection.commit()
