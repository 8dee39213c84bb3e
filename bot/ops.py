"""Operations commands: ``migrate`` and ``healthcheck``.

Both work from the database URL alone, so they need neither the bot token nor torch:
the container runs ``migrate`` before starting the bot, and Docker runs ``healthcheck``
every 30 seconds, where importing torch each time would cost seconds of CPU.

    python -m bot.ops migrate [--url URL]      # alembic upgrade head
    python -m bot.ops healthcheck [--url URL]  # exit 0 when reachable and at head, else 1

Without ``--url`` the URL is ``DATABASE_URL`` from the environment or ``.env``, as for
the bot. Each command prints one line; a password in the URL is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import Settings, missing_driver
from bot.storage.database import (
    alembic_config,
    is_sqlite,
    migrate_to_head_sync,
    safe_url,
    sqlite_file,
    sqlite_write_problem,
    unwritable_line,
)

DEFAULT_TIMEOUT_S = 10.0


class _DatabaseSettings(BaseSettings):
    """Only ``DATABASE_URL``, from the same sources (and default) as :class:`Settings`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = str(Settings.model_fields["database_url"].default)


def database_url(settings_or_url: Settings | str | None = None) -> str:
    """The URL to operate on: given, from settings, or ``DATABASE_URL`` (env, ``.env``)."""
    if isinstance(settings_or_url, Settings):
        return settings_or_url.database_url
    if settings_or_url:
        return settings_or_url
    return _DatabaseSettings().database_url


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def expected_heads(url: str) -> set[str]:
    """The head revision(s) of the migrations shipped with this source tree."""
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def _current_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def current_heads(url: str) -> set[str]:
    """The revision(s) the database is at; empty for a database never migrated."""
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_heads)
    finally:
        await engine.dispose()


async def check_database(url: str, timeout: float = DEFAULT_TIMEOUT_S) -> tuple[bool, str]:
    """Whether the database is reachable and migrated to head, and one line saying so."""
    where = safe_url(url)
    try:
        if is_sqlite(url):
            path = sqlite_file(url)
            # Connecting would create an empty file; a missing one is a finding, not a fix.
            if path is not None and not path.is_file():
                return False, f"unhealthy: {where}: the database file does not exist"
        heads = expected_heads(url)
        current = await asyncio.wait_for(current_heads(url), timeout)
    except TimeoutError:
        return False, f"unhealthy: {where}: no answer within {timeout:g}s"
    except Exception as exc:
        return False, f"unhealthy: {where}: {type(exc).__name__}: {_one_line(exc)}"
    if not current:
        return False, f"unhealthy: {where}: not migrated (run: python -m bot.ops migrate)"
    if current != heads:
        return False, (
            f"unhealthy: {where}: at revision {','.join(sorted(current))}, "
            f"expected {','.join(sorted(heads))} (run: python -m bot.ops migrate)"
        )
    return True, f"healthy: {where} at revision {','.join(sorted(current))}"


def healthcheck(
    settings_or_url: Settings | str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    out: TextIO | None = None,
) -> int:
    """Print one line; return 0 when the database is reachable and at head, else 1.

    Synchronous (it runs its own event loop): call it from a command, not from async code.
    """
    try:
        url = database_url(settings_or_url)
    except Exception as exc:  # e.g. an unreadable .env
        print(f"unhealthy: cannot read DATABASE_URL: {_one_line(exc)}", file=out or sys.stdout)
        return 1
    ok, line = asyncio.run(check_database(url, timeout))
    print(line, file=out or sys.stdout)
    return 0 if ok else 1


def migrate(settings_or_url: Settings | str | None = None, *, out: TextIO | None = None) -> int:
    """``alembic upgrade head``; print one line; return 0 on success, 1 on failure, 2 for
    a SQLite database this user cannot write (the line names the path and the fix).

    Idempotent (a database at head is left alone). Synchronous, like :func:`healthcheck`.
    """
    stream = out or sys.stdout
    try:
        url = database_url(settings_or_url)
    except Exception as exc:
        print(f"error: cannot read DATABASE_URL: {_one_line(exc)}", file=stream)
        return 1
    where = safe_url(url)
    # issue 9: a root-owned volume or a read-only mount, named with its fix (exit 2, as
    # the bot itself would), instead of SQLite's "attempt to write a readonly database".
    problem = sqlite_write_problem(url)
    if problem is not None:
        print(f"error: {unwritable_line('the database (DATABASE_URL)', *problem)}", file=stream)
        return 2
    missing = missing_driver(url)
    if missing is not None:
        print(f"error: {missing}", file=stream)
        return 2
    try:
        migrate_to_head_sync(url)
        heads = expected_heads(url)
    except Exception as exc:
        print(
            f"error: migrating {where} failed: {type(exc).__name__}: {_one_line(exc)}", file=stream
        )
        return 1
    print(f"migrated: {where} is at revision {','.join(sorted(heads))}", file=stream)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.ops", description="Database migrations and health check."
    )
    parser.add_argument("command", choices=("migrate", "healthcheck"))
    parser.add_argument("--url", help="database URL (default: DATABASE_URL from env or .env)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"healthcheck: seconds to wait for the database (default {DEFAULT_TIMEOUT_S:g})",
    )
    args = parser.parse_args(argv)
    if args.command == "migrate":
        # Alembic's "Running upgrade a -> b" lines, one per step, on stderr.
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.INFO)
        return migrate(args.url)
    return healthcheck(args.url, timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
