"""A fresh PostgreSQL database per test, on the server named by ``TEST_POSTGRES_URL``.

``TEST_POSTGRES_URL`` is a role allowed to CREATE DATABASE (``.ci/postgres.sh`` makes
one); tests that need PostgreSQL are skipped when it is unset.
"""

from __future__ import annotations

import asyncio
import atexit
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
async def fresh_postgres_database(
    prefix: str = "test", template: str | None = None
) -> AsyncIterator[str]:
    """The URL of a new database, empty or a copy of ``template``, dropped (connections
    and all) afterwards."""
    assert POSTGRES_URL, "TEST_POSTGRES_URL is not set"
    name = f"{prefix}_{uuid.uuid4().hex}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        await _create(admin, name, template)
        yield _url_of(name)
    finally:
        try:
            await _drop(admin, name)
        finally:
            await admin.dispose()


def _url_of(name: str) -> str:
    assert POSTGRES_URL, "TEST_POSTGRES_URL is not set"
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def _create(admin: AsyncEngine, name: str, template: str | None = None) -> None:
    copied = f' TEMPLATE "{template}"' if template else ""
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"{copied}'))


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


_migrated_template: str | None = None


async def migrated_postgres_template() -> str:
    """A database at the head revision, made once per test process, for tests of the
    storage's behaviour to copy (``CREATE DATABASE ... TEMPLATE``) instead of migrating
    their own (a migration costs ~0.5 s; the migrations are tested on empty databases).
    Dropped when the process exits."""
    global _migrated_template
    if _migrated_template is None:
        from bot.storage.database import migrate_to_head

        assert POSTGRES_URL, "TEST_POSTGRES_URL is not set"
        name = f"template_{uuid.uuid4().hex}"
        admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        try:
            await _create(admin, name)
        finally:
            await admin.dispose()
        await migrate_to_head(_url_of(name))
        atexit.register(_drop_at_exit, name)
        _migrated_template = name
    return _migrated_template


def _drop_at_exit(name: str) -> None:
    async def drop() -> None:
        assert POSTGRES_URL
        admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        try:
            await _drop(admin, name)
        finally:
            await admin.dispose()

    asyncio.run(drop())
