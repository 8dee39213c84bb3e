"""One writer at a time for SQLite: the bot's write transactions queue in order.

SQLite lets one connection write at a time. Without help, every pooled connection that
wants to write waits in SQLite's busy handler, which *polls* with growing sleeps (up to
100 ms) instead of queueing: in a burst the bot's own writes starve each other, and a
write can wait past the busy timeout and fail with "database is locked" although
nothing else was writing. Here the bot's writes take a FIFO ``asyncio.Lock`` first, so
they wait in order, each handed the turn the moment the previous one commits, and
SQLite's busy handler is left to what it is for: other processes (a trainer, the
operations CLI).

How it maps onto SQLite's own lock: Python's sqlite3 driver (under aiosqlite) begins a
transaction implicitly before the first INSERT, UPDATE, DELETE or REPLACE, and SQLite
takes its write lock at that statement; reads before it run in autocommit. So the turn
is taken just before a connection's first write statement (``before_cursor_execute``,
which runs inside SQLAlchemy's greenlet and may therefore await) and handed on right
after that connection's COMMIT or ROLLBACK (the dialect's ``do_commit`` /
``do_rollback``), or when the connection is closed or invalidated. Reads never take it
and stay concurrent under WAL.

A task that already holds the turn through one connection and starts writing on a
second would wait for itself forever; that is refused at once as "database is locked",
which is what SQLite's busy handler would have ended with after the busy timeout.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from bot.storage.sqlite_driver import InlineWriteConnection

# The statements that make the driver begin a transaction and SQLite take its write lock.
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
# A turn not given within this long means something holds it without committing (a bug);
# far beyond any real queue, since a queued write is what the lock is for.
QUEUE_TIMEOUT_S = 120.0


def _raw(connection: Any) -> Any:
    """The driver connection behind a pool proxy (or the connection itself)."""
    return getattr(connection, "dbapi_connection", connection)


class SerialWrites:
    """The write turn of one engine's connections."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._holder: Any = None  # the driver connection in a write transaction
        self._holder_task: asyncio.Task[Any] | None = None

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def install(self, engine: AsyncEngine) -> None:
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._before_execute)
        dialect = sync.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(connection: Any) -> None:
            try:
                commit(connection)
            finally:
                self._release(connection)

        def do_rollback(connection: Any) -> None:
            try:
                rollback(connection)
            finally:
                self._release(connection)

        # this engine's own dialect instance: other engines are untouched
        dialect.do_commit = do_commit  # type: ignore[method-assign,assignment]
        dialect.do_rollback = do_rollback  # type: ignore[method-assign,assignment]
        for name in ("checkin", "close", "invalidate", "detach"):
            event.listen(sync.pool, name, self._on_pool_event)

    def _before_execute(
        self,
        conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        if not _WRITE.match(statement):
            return
        raw = _raw(conn.connection)
        if self._holder is raw:
            return  # this transaction already has the turn
        task = asyncio.current_task()
        if task is not None and task is self._holder_task:
            raise OperationalError(
                statement,
                parameters,
                sqlite3.OperationalError(
                    "database is locked (a second write transaction in the same task)"
                ),
            )
        if not self._lock.locked():
            # free: taken at once (wait_for would start a task, and wait a turn of the loop)
            await_only(self._lock.acquire())
        else:
            try:
                await_only(asyncio.wait_for(self._lock.acquire(), QUEUE_TIMEOUT_S))
            except TimeoutError:
                raise OperationalError(
                    statement, parameters, sqlite3.OperationalError("database is locked")
                ) from None
        self._holder, self._holder_task = raw, task
        if isinstance(raw, InlineWriteConnection):
            raw.writing = True  # its statements now run on the loop's thread

    def _release(self, connection: Any) -> None:
        if self._holder is not None and self._holder is _raw(connection):
            if isinstance(self._holder, InlineWriteConnection):
                self._holder.writing = False
            self._holder = self._holder_task = None
            self._lock.release()

    def _on_pool_event(self, dbapi_connection: Any, *_args: Any) -> None:
        self._release(dbapi_connection)
