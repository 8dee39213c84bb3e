"""Operations commands: ``migrate`` and ``healthcheck``.

Both work from the database URL alone, so they need neither the bot token nor torch:
the container runs ``migrate`` before starting the bot, and Docker runs ``healthcheck``
every 30 seconds, where importing torch each time would cost seconds of CPU.

    python -m bot.ops migrate [--url URL]      # alembic upgrade head
    python -m bot.ops healthcheck [--url URL]  # exit 0 when reachable and at head, else 1

Without ``--url`` the URL is ``DATABASE_URL`` from the environment or ``.env``, as for
the bot. Each command prints one line; a password in the URL is never printed.

In webhook mode (``WEBHOOK_URL`` set) the healthcheck also needs the bot's webhook port
to accept connections: the database is ready long before the bot listens, and a proxy
that waits for "healthy" must not send updates to a replica that would refuse them.
Where the process serves its probes (``HEALTH_PORT`` set, as in the image) it must also
answer ``GET /readyz`` with 200: a model loaded, the engine serving, not stopping.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

from bot.settings.config import Settings, missing_driver
from bot.storage.database import (
    NewerDatabaseError,
    alembic_config,
    is_sqlite,
    migrate_to_head_sync,
    safe_url,
    served_as_newer,
    sqlite_file,
    sqlite_write_problem,
    unwritable_line,
)

DEFAULT_TIMEOUT_S = 10.0


class _OpsSettings(BaseSettings):
    """``DATABASE_URL`` and where the webhook listens, from the same sources (and with the
    same defaults) as :class:`Settings`, which would also demand the bot token."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = str(Settings.model_fields["database_url"].default)
    webhook_url: str = ""
    webhook_listen: str = str(Settings.model_fields["webhook_listen"].default)
    webhook_port: int = int(Settings.model_fields["webhook_port"].default)
    health_listen: str = str(Settings.model_fields["health_listen"].default)
    health_port: int = int(Settings.model_fields["health_port"].default)

    def readyz_address(self) -> tuple[str, int] | None:
        """Where the process answers ``/readyz``; None when it serves no probes."""
        if not self.health_port:
            return None
        host = self.health_listen
        return ("127.0.0.1" if host in ("", "0.0.0.0", "::") else host), self.health_port

    def webhook_address(self) -> tuple[str, int] | None:
        """Where to knock for the webhook listener; None when the bot polls."""
        if not self.webhook_url:
            return None
        # A wildcard bind answers on loopback, which is where the check runs.
        host = self.webhook_listen
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        return host, self.webhook_port


def database_url(settings_or_url: Settings | str | None = None) -> str:
    """The URL to operate on: given, from settings, or ``DATABASE_URL`` (env, ``.env``)."""
    if isinstance(settings_or_url, Settings):
        return settings_or_url.database_url
    if settings_or_url:
        return settings_or_url
    return _OpsSettings().database_url


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


async def _served_as_newer(url: str, current: set[str]) -> bool:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        return await served_as_newer(engine, url, current)
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
    if current != heads and await asyncio.wait_for(_served_as_newer(url, current), timeout):
        return True, (
            f"healthy: {where} at revision {','.join(sorted(current))} of a newer release "
            "(expand-only: served as it is)"
        )
    if current != heads:
        return False, (
            f"unhealthy: {where}: at revision {','.join(sorted(current))}, "
            f"expected {','.join(sorted(heads))} (run: python -m bot.ops migrate)"
        )
    return True, f"healthy: {where} at revision {','.join(sorted(current))}"


async def check_webhook(address: tuple[str, int], timeout: float) -> tuple[bool, str]:
    """Whether something accepts TCP connections on the webhook port, and one line."""
    host, port = address
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return False, f"unhealthy: the webhook port {where} does not answer within {timeout:g}s"
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return False, (
            f"unhealthy: the webhook port {where} refuses connections ({reason}); "
            "the bot is still starting or has stopped"
        )
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True, f"webhook port {where} listening"


async def check_readyz(address: tuple[str, int], timeout: float) -> tuple[bool, str]:
    """Whether ``GET /readyz`` answers 200, and one line (HTTP/1.0 by hand: no client
    library to import every 30 s)."""
    host, port = address
    where = f"http://{host}:{port}/readyz"
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.write(f"GET /readyz HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        answer = await asyncio.wait_for(reader.read(4096), timeout)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    except (TimeoutError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        return False, f"unhealthy: {where} does not answer ({reason})"
    head, _, body = answer.decode("utf-8", "replace").partition("\r\n\r\n")
    status = head.split(" ", 2)[1] if head.count(" ") >= 1 else "?"
    if status != "200":
        return False, f"unhealthy: {where} answered {status}: {_one_line(Exception(body))}"
    return True, f"{where} ready"


async def _check(
    url: str,
    webhook: tuple[str, int] | None,
    timeout: float,
    readyz: tuple[str, int] | None = None,
) -> tuple[bool, str]:
    ok, line = await check_database(url, timeout)
    if not ok:
        return ok, line
    if webhook is not None:
        listening, webhook_line = await check_webhook(webhook, timeout)
        if not listening:
            return False, webhook_line
        line = f"{line}; {webhook_line}"
    if readyz is not None:
        ready, ready_line = await check_readyz(readyz, timeout)
        if not ready:
            return False, ready_line
        line = f"{line}; {ready_line}"
    return True, line


def healthcheck(
    settings_or_url: Settings | str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    out: TextIO | None = None,
) -> int:
    """Print one line; return 0 when the database is reachable and at head (and, in
    webhook mode, something listens on the webhook port), else 1.

    Without arguments the database and the webhook come from the environment and
    ``.env``, as for the bot; given settings or a URL, only that database is checked.
    Synchronous (it runs its own event loop): call it from a command, not from async code.
    """
    webhook = readyz = None
    try:
        if settings_or_url is None:
            settings = _OpsSettings()
            url, webhook = settings.database_url, settings.webhook_address()
            readyz = settings.readyz_address()
        else:
            url = database_url(settings_or_url)
    except Exception as exc:  # e.g. an unreadable .env
        print(f"unhealthy: cannot read the settings: {_one_line(exc)}", file=out or sys.stdout)
        return 1
    ok, line = asyncio.run(_check(url, webhook, timeout, readyz))
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
    # a root-owned volume or a read-only mount, named with its fix (exit 2, as
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
        newer = migrate_to_head_sync(url)
        heads = {newer} if newer is not None else expected_heads(url)
    except NewerDatabaseError as exc:
        print(f"error: {exc}", file=stream)
        return 2
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
    parser.add_argument(
        "--url",
        help="database URL (default: DATABASE_URL from env or .env); with --url the "
        "healthcheck checks that database only, not the webhook port",
    )
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
