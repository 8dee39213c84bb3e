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
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from model.errors import ModelError

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 15.0


# SQLSTATEs of a server that is away for a moment: class 08 (connection exception), an
# administrator's or a crash's shutdown, "the database system is starting up", and too
# many connections (a restarted server filling up again).
_AWAY_SQLSTATES = ("57P01", "57P02", "57P03", "53300")
_CHAIN_DEPTH = 6  # SQLAlchemy error -> adapted DB-API error -> asyncpg error, and so on


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (``orig``, ``__cause__``, ``__context__``), nearest first."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(found) < _CHAIN_DEPTH:
        current = todo.pop(0)
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        orig = getattr(current, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None]
        todo += [current.__cause__, current.__context__]
    return found


def is_disconnect(exc: BaseException) -> bool:
    """The database server is unreachable or went away (a restart, a failover): the same
    work will go through once it answers again."""
    if isinstance(exc, InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    for cause in _chain(exc):
        if isinstance(cause, ConnectionError):  # refused, reset, "connection_lost()"
            return True
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and (state.startswith("08") or state in _AWAY_SQLSTATES):
            return True
        if type(cause).__module__.startswith("asyncpg"):
            # asyncpg's "connection is closed" (its InterfaceError is no ConnectionError).
            if "closed" in str(cause):
                return True
            # A server that shuts down mid-query leaves the protocol consuming its error
            # while the next query starts: "cannot switch to state ...". The connection
            # is unusable, exactly as if it had dropped.
            if type(cause).__name__ == "InternalClientError":
                return True
    return False


def is_transient(exc: BaseException) -> bool:
    """A database fault that may go away by itself: locked, full, disconnected."""
    if isinstance(exc, OperationalError):
        return True
    # asyncpg / OS-level connection drops that reach us unwrapped.
    return is_disconnect(exc) or isinstance(exc, TimeoutError)


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
    if isinstance(exc, ConnectionError | TimeoutError) or is_disconnect(exc):
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


class Outage:
    """A connection that comes and goes, told in two log lines per outage: when it was
    lost (with the cause) and when it is back (after how long, after how many tries),
    however many reconnection attempts come between. ``delay()`` is the backoff."""

    def __init__(self, what: str, first_delay_s: float = FIRST_DELAY_S, max_delay_s: float = 5.0):
        self.what = what
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.since: float | None = None
        self.tries = 0

    @property
    def down(self) -> bool:
        return self.since is not None

    def lost(self, exc: BaseException) -> None:
        self.tries += 1
        if self.since is None:
            self.since = time.monotonic()
            log.warning("%s: %s; reconnecting", self.what, describe(exc))

    def back(self) -> None:
        if self.since is not None:
            log.warning("%s: reconnected after %.1f s (%d failed tries)", self.what,
                        time.monotonic() - self.since, self.tries)  # fmt: skip
        self.since, self.tries = None, 0

    def delay(self) -> float:
        return float(min(self.first_delay_s * 2 ** max(self.tries - 1, 0), self.max_delay_s))
