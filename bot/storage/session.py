"""What every query module shares: the session maker, and small SQL helpers."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Executable, Row
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.records import StorageError
from bot.storage.schema import (
    GenerationRow,
)
from bot.storage.sqlite_driver import point_reads

# --------------------------------------------------------------------------- helpers


def make_settings_key(corpus_sha256: str, settings: Mapping[str, Any]) -> str:
    """The ``settings_key`` of a training: equal keys mean an identical training.

    Canonical JSON (sorted keys, no whitespace) so that dict order and formatting
    cannot make two identical trainings look different.
    """
    canonical = json.dumps(dict(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{corpus_sha256}\n{canonical}".encode()).hexdigest()


def percentile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    rank = (len(sorted_values) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def _require_aware(value: datetime | None, name: str) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")


def _upsert_insert(bind: AsyncSession | AsyncConnection | AsyncEngine) -> Any:
    """The dialect's INSERT construct, which has ``on_conflict_do_update``."""
    name = bind.get_bind().dialect.name if isinstance(bind, AsyncSession) else bind.dialect.name
    if name == "sqlite":
        return sqlite.insert
    if name == "postgresql":
        return postgresql.insert
    raise StorageError(f"unsupported database dialect {name!r}; use SQLite or PostgreSQL")


def _generation_filters(
    user_id: int | None, model_version_id: int | None, since: datetime | None
) -> list[ColumnElement[bool]]:
    _require_aware(since, "since")
    filters: list[ColumnElement[bool]] = []
    if user_id is not None:
        filters.append(GenerationRow.user_id == user_id)
    if model_version_id is not None:
        filters.append(GenerationRow.model_version_id == model_version_id)
    if since is not None:
        filters.append(GenerationRow.created_at >= since)
    return filters


class Queries:
    """Base of the query modules: each public method runs one session (one transaction)."""

    _sessions: async_sessionmaker[AsyncSession]

    @property
    def _engine(self) -> AsyncEngine:
        """The sessions' engine, for the statements run for every update (the inbox's
        marks, a generation, a preference): Core on a connection skips the ORM session's
        bookkeeping (its transaction state, identity map and bulk-update evaluation),
        which in a burst cost more of the event loop than SQLite's own work."""
        engine: AsyncEngine = self._sessions.kw["bind"]
        return engine

    async def _write(self, statement: Executable, params: Mapping[str, Any]) -> list[Row[Any]]:
        """One statement in a transaction of its own; the rows it returns, if any.

        Meant for statements built once, with bind parameters (module constants): such a
        statement is neither built nor given a cache key again at each call, and its
        execution and COMMIT run in one greenlet. Together that halves SQLAlchemy's cost
        of a one-row write, the larger part of a hot write's cost.
        """

        def work(connection: Connection) -> list[Row[Any]]:
            result = connection.execute(statement, params)
            rows = list(result.all()) if result.returns_rows else []
            connection.commit()
            return rows

        async with self._engine.connect() as connection:
            return await connection.run_sync(work)

    async def _read(self, statement: Executable, params: Mapping[str, Any]) -> list[Row[Any]]:
        """The rows of a lookup by key built once with bind parameters (see :meth:`_write`);
        on SQLite it runs on the loop's thread (bot/storage/sqlite_driver.py)."""

        def work(connection: Connection) -> list[Row[Any]]:
            with point_reads(connection.connection.dbapi_connection):
                return list(connection.execute(statement, params).all())

        async with self._engine.connect() as connection:
            return await connection.run_sync(work)
