"""Engines, session makers and programmatic migrations."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import URL, event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot import metrics
from bot.storage import compat
from bot.storage.sqlite_driver import InlineWriteDbapi
from bot.storage.writer import SerialWrites

log = logging.getLogger(__name__)

# The repository root: migrations ship with the source tree, not inside the package, so
# they are found relative to this file rather than to whatever the working directory is.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'bot.db'}"

# How long a write waits for SQLite's write lock before "database is locked". Every
# pooled connection of the bot competes for it, and SQLite's busy handler polls rather
# than queues: a burst of fifty users on a loaded machine once starved a write past 5 s.
DEFAULT_SQLITE_BUSY_TIMEOUT_S = 15.0
SQLITE_POOL_SIZE = 32  # connections kept open (each is an aiosqlite thread)
SQLITE_POOL_OVERFLOW = 64  # opened beyond those at a peak, and closed after it

SQLITE_PRAGMAS: tuple[str, ...] = (
    # WAL lets the bot keep answering (reading) while a write is in progress.
    "PRAGMA journal_mode=WAL",
    # SQLite ignores foreign keys (and so ON DELETE CASCADE / SET NULL) unless asked,
    # on each connection.
    "PRAGMA foreign_keys=ON",
    # Safe with WAL (only the last commits can be lost on power loss, never corruption)
    # and far fewer fsyncs than FULL.
    "PRAGMA synchronous=NORMAL",
)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def safe_url(url: str | URL) -> str:
    """``url`` with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable DATABASE_URL>"


def sqlite_file(url: str | URL) -> Path | None:
    """The database file of a SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def directory_write_problem(directory: Path) -> tuple[Path, OSError] | None:
    """Why this process cannot create files in ``directory`` (creating it if missing).

    Tried for real (a file created and removed) rather than with ``os.access``: root
    passes every permission check but still cannot write a read-only mount, and an ACL
    or a wrong owner shows only when the write is attempted.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        # The first missing ancestor is what could not be created; name the directory.
        return directory, exc
    probe = directory / f".write-test-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None  # a leftover of an earlier probe: creating files worked then
    except OSError as exc:
        return directory, exc
    os.close(fd)
    with contextlib.suppress(OSError):
        probe.unlink()
    return None


def sqlite_write_problem(url: str | URL) -> tuple[Path, OSError] | None:
    """Why a SQLite database at ``url`` could not be written; None if it can (or is not
    a SQLite file). SQLite in WAL mode writes the file itself and creates ``-wal`` and
    ``-shm`` files next to it, so the directory must be writable too."""
    if not is_sqlite(url):
        return None
    path = sqlite_file(url)
    if path is None:
        return None
    problem = directory_write_problem(path.parent)
    if problem is not None:
        return problem
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            fd = os.open(candidate, os.O_RDWR)
        except FileNotFoundError:
            continue
        except OSError as exc:
            return candidate, exc
        os.close(fd)
    return None


DOCKER_UID = 10001  # the unprivileged user of the project's image (Dockerfile)


def unwritable_line(name: str, path: Path, error: OSError) -> str:
    """One line saying which path cannot be written, why, and the likely fix."""
    reason = error.strerror or type(error).__name__
    if error.errno == errno.EROFS:  # no chown helps a read-only mount
        fix = "mount it read-write"
    else:
        uid = os.getuid()
        fix = (
            f"make it writable by uid {uid}, e.g. `chown -R {uid} {path}`"
            f" (the Docker image runs as uid {DOCKER_UID})"
        )
    return f"{name} {path} is not writable ({reason}); {fix}"


def _sqlite_pragmas(busy_timeout_s: float) -> Callable[[Any, Any], None]:
    # Wait for a competing writer (another connection, a migration, a second process)
    # instead of failing at once.
    pragmas = (*SQLITE_PRAGMAS, f"PRAGMA busy_timeout={round(busy_timeout_s * 1000)}")

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    return on_connect


def create_engine(
    url: str | URL, busy_timeout_s: float = DEFAULT_SQLITE_BUSY_TIMEOUT_S, **kwargs: Any
) -> AsyncEngine:
    """An async engine; for SQLite, with the pragmas above on every connection and one
    write transaction at a time (bot/storage/writer.py).

    The parent directory of a SQLite file is created if missing, so a fresh checkout
    can start with the default ``var/bot.db``.
    """
    if not is_sqlite(url):
        # Connections dropped by the server (restarts, idle timeouts) are replaced
        # instead of failing the next request.
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "handle_error", _count_error)
        return engine
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    # the bot's write transactions run on the loop's thread (bot/storage/sqlite_driver.py)
    kwargs.setdefault("module", InlineWriteDbapi())
    # Connections kept open: in a burst the reads in flight at once outnumbered
    # SQLAlchemy's default of 5 kept (+10 opened and closed again), and opening one
    # (a thread, the file, four pragmas) cost more than the reads themselves.
    if path is not None and "poolclass" not in kwargs:  # a file, in a pool of its kind
        kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
        kwargs.setdefault("max_overflow", SQLITE_POOL_OVERFLOW)
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy_timeout_s))
    event.listen(engine.sync_engine, "handle_error", _count_error)
    # the bot's own writes queue in order instead of polling in SQLite's busy handler
    SerialWrites().install(engine)
    return engine


def _count_error(context: Any) -> None:
    """Every error the driver raises, counted for the metrics by a bounded kind."""
    error = context.original_exception
    locked = "database is locked" in str(error) or "deadlock detected" in str(error)
    metrics.DB_ERRORS.labels("locked" if locked else type(error).__name__).inc()


def create_session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit, since they are used after the session has closed.
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | URL) -> Config:
    """An Alembic config for this project's migrations that targets ``url``.

    The URL travels in ``config.attributes`` rather than ``sqlalchemy.url``, because the
    ini parser would try to interpolate ``%`` in URL-encoded passwords.
    """
    config = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url if isinstance(url, str) else url.render_as_string(False)
    # The application owns logging; fileConfig would disable its existing loggers.
    config.attributes["configure_logger"] = False
    return config


async def schema_problems(engine: AsyncEngine, url: str | URL) -> list[str]:
    """Why the database behind ``engine`` cannot serve this code (for ``/readyz``): it
    does not answer, or it is not at the head revision of the migrations shipped here."""

    def current(connection: Any) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    try:
        async with engine.connect() as connection:
            heads = await connection.run_sync(current)
    except Exception as exc:
        return [f"the database does not answer ({type(exc).__name__})"]
    if heads != set(ScriptDirectory.from_config(alembic_config(url)).get_heads()):
        if await served_as_newer(engine, url, heads):
            return []
        return ["the database is not at the migration head"]
    return []


async def served_as_newer(engine: AsyncEngine, url: str | URL, heads: set[str]) -> bool:
    """Whether ``heads`` are a newer release's, which only expanded what this code needs."""
    scripts = ScriptDirectory.from_config(alembic_config(url))
    if compat.unknown_revision(scripts, heads) is None:
        return False  # older: not migrated yet
    async with engine.connect() as connection:
        return await connection.run_sync(compat.serves, scripts.get_current_head(), heads)


def migrate_to_head_sync(url: str | URL) -> str | None:
    """``alembic upgrade head`` on ``url``; a no-op when already at head.

    A database a newer release migrated with expand-only steps is served as it is
    (bot/storage/compat.py): its revision is returned. Any other newer database raises
    :class:`NewerDatabaseError`.

    Must not be called from a thread with a running event loop: ``migrations/env.py``
    starts its own with ``asyncio.run``. Use :func:`migrate_to_head` from async code.
    An in-memory SQLite URL cannot be migrated this way (the migration would get its
    own, separate, database).
    """
    config = alembic_config(url)
    try:
        command.upgrade(config, "head")
    except CommandError as exc:
        if isinstance(exc.__cause__, ResolutionError):
            raise NewerDatabaseError(url, exc.__cause__.argument) from None
        raise
    newer: str | None = config.attributes.get("newer_compatible_revision")
    if newer is not None:
        log.warning(
            "the database is at revision %s of a newer release, whose migrations only "
            "expanded the schema: serving it as it is, without migrating",
            newer,
        )
    return newer


class NewerDatabaseError(Exception):
    """The database is at a revision these migrations do not have: a newer version of
    the bot migrated it (an upgrade rolled back), and this one must not touch it."""

    def __init__(self, url: str | URL, revision: str) -> None:
        self.revision = revision
        super().__init__(
            f"the database DATABASE_URL={safe_url(url)} is at revision {revision}, which "
            "this version of the bot does not know: a newer version migrated it. Run that "
            "version again, or restore the backup taken before the upgrade"
        )


async def migrate_to_head(url: str | URL) -> str | None:
    """:func:`migrate_to_head_sync` in a worker thread, so it can run its own event loop."""
    return await asyncio.to_thread(migrate_to_head_sync, url)
