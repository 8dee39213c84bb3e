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
from sqlalchemy.ext.asyncio import create_async_engine

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="TEST_POSTGRES_URL is not set")


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
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
