"""The training job queue: pgqueuer on PostgreSQL, in its own schema ``pgqueuer``.

Why pgqueuer (and not procrastinate): it speaks asyncpg, the driver the bot already
uses for PostgreSQL, so it adds no second driver (procrastinate needs psycopg 3); its
workers are woken by LISTEN/NOTIFY and re-pick a job whose worker stopped sending
heartbeats. The queue carries only the run id: the run's row stays the source of truth
(state, owner, lease), so a job picked twice (a re-pick after a trainer was killed)
finds its run no longer ``queued`` and does nothing.

Its objects live in a separate schema so that the project's own schema (compared with
the ORM by the tests) stays exactly the ORM's; Alembic revision 0006 creates them.
"""

from __future__ import annotations

import asyncpg
from pgqueuer import Queries, QueueManager
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.adapters.persistence.qb import (
    QueryBuilderEnvironment,
    QueryQueueBuilder,
    QuerySchedulerBuilder,
)
from pgqueuer.domain.settings import DBSettings
from pgqueuer.types import Channel
from sqlalchemy import make_url

SCHEMA = "pgqueuer"
TRAIN = "train"  # the entrypoint: payload = the run id, as ASCII digits

_SETTINGS = DBSettings(db_schema=SCHEMA)


def install_sql() -> str:
    return QueryBuilderEnvironment(_SETTINGS).build_install_query(create_schema=True)


def uninstall_sql() -> str:
    return QueryBuilderEnvironment(_SETTINGS).build_uninstall_query()


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL (``postgresql+asyncpg://...``) as a DSN asyncpg accepts."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def connect(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)


def queries(connection: asyncpg.Connection) -> Queries:
    return Queries(
        AsyncpgDriver(connection),
        qbe=QueryBuilderEnvironment(_SETTINGS),
        qbq=QueryQueueBuilder(_SETTINGS),
        qbs=QuerySchedulerBuilder(_SETTINGS),
    )


def queue_manager(connection: asyncpg.Connection) -> QueueManager:
    return QueueManager(queries(connection), channel=Channel(_SETTINGS.channel))


async def enqueue_training(database_url: str, run_id: int) -> None:
    """Put run ``run_id`` on the queue (one short connection: /retrain is rare)."""
    connection = await connect(database_url)
    try:
        await queries(connection).enqueue(TRAIN, str(run_id).encode("ascii"))
    finally:
        await connection.close()


def run_id_of(payload: bytes | None) -> int | None:
    text = (payload or b"").decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
