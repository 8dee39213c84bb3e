"""A fresh PostgreSQL database per test, on the server named by ``TEST_POSTGRES_URL``.

``TEST_POSTGRES_URL`` is a role allowed to CREATE DATABASE (``.ci/postgres.sh`` makes
one); tests that need PostgreSQL are skipped when it is unset.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="TEST_POSTGRES_URL is not set")

_INSUFFICIENT_PRIVILEGE = "42501"


@asynccontextmanager
async def fresh_postgres_database(prefix: str = "test") -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped (connections and all) afterwards."""
    assert POSTGRES_URL, "TEST_POSTGRES_URL is not set"
    name = f"{prefix}_{uuid.uuid4().hex}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            await _drop(admin, name)
        finally:
            await admin.dispose()


async def _drop(admin: AsyncEngine, name: str) -> None:
    """Drop ``name`` with every session in it, the ones a test leaked included.

    WITH (FORCE) ends the other sessions, but a role that is neither superuser nor in
    pg_signal_backend may not end an autovacuum worker that way (CI once failed exactly
    so). A plain DROP DATABASE stops autovacuum workers itself, waiting up to 5 s for
    other sessions, so it is the fallback.
    """
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
            raise
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
