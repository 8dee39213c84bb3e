"""Retrying database work through transient faults, and naming causes in one line.

The steps after a training (mark it finishing, register the version, activate it,
mark it succeeded, tell the admin) must survive a locked SQLite file, a full disk or a
dropped PostgreSQL connection. Each step is idempotent, so it is simply tried again
with exponential backoff until it goes through; anything else is a real error that
ends the run as ``failed``. Admins only ever see :func:`describe`'s one line: never
SQL, never a traceback, never a URL (a download URL carries the bot token).
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from model.errors import ModelError

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 15.0


def is_transient(exc: BaseException) -> bool:
    """A database fault that may go away by itself: locked, full, disconnected."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # asyncpg / OS-level connection drops that reach us unwrapped.
    return isinstance(exc, ConnectionError | TimeoutError)


def describe(exc: BaseException) -> str:
    """One line for an admin saying what went wrong, without SQL, paths of secrets or URLs."""
    if isinstance(exc, SQLAlchemyError):
        detail = str(getattr(exc, "orig", "") or "").lower()
        if "locked" in detail or "busy" in detail:
            return "the database stayed locked by another writer"
        if "full" in detail:
            return "the disk holding the database is full"
        if "readonly" in detail or "read-only" in detail:
            return "the database is read-only"
        if "i/o" in detail:
            return "the database could not be written (disk I/O error)"
        if (isinstance(exc, DBAPIError) and exc.connection_invalidated) or "connect" in detail:
            return "the connection to the database was lost"
        orig = getattr(exc, "orig", None)
        return f"a database error ({type(orig or exc).__name__})"
    if isinstance(exc, ModelError):
        return str(exc).rstrip(".")
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            cause = "the disk is full"
        elif exc.errno == errno.EROFS:
            cause = "the filesystem is read-only"
        elif exc.errno in (errno.EACCES, errno.EPERM):
            cause = "permission denied"
        else:
            cause = (exc.strerror or type(exc).__name__).lower()
        return f"{cause} ({exc.filename})" if exc.filename else cause
    if isinstance(exc, ConnectionError | TimeoutError):
        return "the connection to the database was lost"
    return f"an unexpected error ({type(exc).__name__})"


async def retry(
    operation: Callable[[], Awaitable[T]],
    what: str,
    on_wait: Callable[[str], Awaitable[None]] | None = None,
    attempts: int | None = None,
) -> T:
    """Run ``operation`` until it succeeds, sleeping with backoff after transient faults.

    Non-transient errors propagate at once. ``on_wait`` hears the cause of each wait
    (e.g. to tell the admin "waiting for the database"). ``attempts`` caps the tries
    (None: until it works; the caller's step is idempotent and has no other way on).
    """
    delay = FIRST_DELAY_S
    tried = 0
    while True:
        try:
            return await operation()
        except Exception as exc:
            tried += 1
            if not is_transient(exc) or (attempts is not None and tried >= attempts):
                raise
            cause = describe(exc)
            log.warning("%s: %s; retrying in %.1f s", what, cause, delay)
            if on_wait is not None:
                try:
                    await on_wait(cause)
                except Exception:  # a report must never stop the retry
                    log.debug("on_wait failed", exc_info=True)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)
