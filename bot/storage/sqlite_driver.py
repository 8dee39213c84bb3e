"""aiosqlite under SQLAlchemy, with the bot's write transactions run on the loop's thread.

Why: aiosqlite runs every call of a connection (make a cursor, execute, fetch, close the
cursor, commit) in that connection's thread and hands each result back through the
event loop, so a one-row UPDATE and its COMMIT take five round trips, and each waits for
a turn of the loop. SQLite has one writer and the bot's writes queue for it in order
(bot/storage/writer.py): a transaction that waits for the loop between its statements
keeps the writer for as long as the loop is busy. In a 200-user burst that was ~4 ms per
one-row write, where SQLite itself needs ~0.1 ms, and the queue behind the writer, not
the work, made the replies late.

So, on a connection whose transaction holds the bot's write turn, every statement and
the COMMIT or ROLLBACK run directly on the loop's thread: the write lock is held for
SQLite's own time and nobody waits for the loop. Other statements (reads, which stay
concurrent under WAL) run in the connection's thread as before, but in one round trip
(execute and fetch together) instead of three or four. Three kinds of statement keep the
thread even within the write turn, so the loop never blocks for long:

* a transaction's first write that finds the database locked by another process (a
  trainer, the operations CLI): it is tried on the loop's thread with no busy wait, and
  on "locked" it is run again in the connection's thread, where SQLite's busy timeout
  waits without stopping the loop (a write that failed on "locked" changed nothing);
* statements with large parameters (model files, corpora);
* DELETEs, which may cascade over many rows.
"""

from __future__ import annotations

import collections
import contextlib
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_cursor
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT, await_

# A parameter this large (bytes or characters) is written from the connection's thread:
# copying a model file into SQLite takes milliseconds, too long to stop the loop for.
LARGE_PARAMETER = 64 * 1024
_DELETE = re.compile(r"^\s*DELETE\b", re.IGNORECASE)


def _run(cursor: sqlite3.Cursor, operation: str, parameters: Any) -> list[Any]:
    """Execute and fetch in one go (one round trip when run in the thread)."""
    if parameters is None:
        cursor.execute(operation)
    else:
        cursor.execute(operation, parameters)
    return cursor.fetchall() if cursor.description else []


def _run_many(cursor: sqlite3.Cursor, operation: str, seq: Sequence[Any]) -> list[Any]:
    cursor.executemany(operation, seq)
    return []


async def _nothing() -> None:
    """Awaited once per statement run on the loop's thread: SQLAlchemy's async engine
    checks that a statement switched to the loop's greenlet (a driver that never awaits
    would be a sync driver by mistake). Completes at once: no turn of the loop."""


def _large(parameters: Any) -> bool:
    if parameters is None:
        return False
    values = parameters.values() if isinstance(parameters, dict) else parameters
    return any(
        isinstance(v, (bytes, bytearray, memoryview, str)) and len(v) > LARGE_PARAMETER
        for v in values
    )


class InlineWriteCursor(AsyncAdapt_dbapi_cursor):
    """A cursor over the driver's own ``sqlite3.Cursor``: made without a round trip, and
    run on the loop's thread while its connection holds the write turn."""

    # set while a call of this cursor runs in the connection's thread
    __slots__ = ("_in_thread",)
    _awaitable_cursor_close = False  # closing a sqlite3 cursor does no I/O

    def __init__(self, adapt_connection: InlineWriteConnection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        # check_same_thread is off (InlineWriteDbapi.connect): the connection is used by
        # one caller at a time, from the loop's thread or its own
        self._cursor = adapt_connection.sqlite.cursor()  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._in_thread: threading.Event | None = None

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        connection: InlineWriteConnection = self._adapt_connection  # type: ignore[assignment]
        inline = (connection.writing or connection.point_reads) and not (
            _DELETE.match(operation) or _large(parameters)
        )
        self._rows = collections.deque(self._call(inline, _run, operation, parameters))

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        connection: InlineWriteConnection = self._adapt_connection  # type: ignore[assignment]
        inline = connection.writing and not any(_large(p) for p in seq_of_parameters)
        self._call(inline, _run_many, operation, seq_of_parameters)
        self._rows = collections.deque()

    def _call(self, inline: bool, fn: Any, *args: Any) -> list[Any]:
        """``fn(cursor, *args)`` on the loop's thread (``inline``) or in the connection's."""
        connection: InlineWriteConnection = self._adapt_connection  # type: ignore[assignment]
        try:
            if inline:
                rows: list[Any] = connection.run_inline(fn, self._cursor, *args)
                await_(_nothing())
                return rows
            done = self._in_thread = threading.Event()

            def in_thread(*call: Any) -> list[Any]:
                try:
                    rows: list[Any] = fn(*call)
                    return rows
                finally:
                    done.set()

            ran: list[Any] = await_(self._connection._execute(in_thread, self._cursor, *args))
            return ran
        except Exception as error:
            connection._handle_exception(error)

    def close(self) -> None:
        """Closed on the spot, unless a caller that was cancelled (a stop) left one of
        its statements running in the connection's thread: closing it from the loop's
        thread then would use the cursor from two threads at once, and sqlite3's
        "Recursive use of cursors not allowed" would replace the cancellation (the
        cancelled loop caught it and ran on). It is finalized when that call ends."""
        running = self._in_thread
        if running is not None and not running.is_set():
            self._rows.clear()
            return
        super().close()


class InlineWriteConnection(AsyncAdapt_aiosqlite_connection):
    """aiosqlite's adapter, told by the write turn (bot/storage/writer.py) when its
    transaction holds it."""

    __slots__ = ("_busy_timeout_ms", "point_reads", "writing")
    _cursor_cls = InlineWriteCursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection) -> None:
        super().__init__(dbapi, connection)  # type: ignore[arg-type]
        self.writing = False
        # set around a read known to be small (a row by its key): run on the loop's
        # thread too, since a round trip costs the loop more than SQLite's lookup
        self.point_reads = False
        self._busy_timeout_ms: int | None = None

    @property
    def sqlite(self) -> sqlite3.Connection:
        raw: sqlite3.Connection = self._connection._conn
        return raw

    def run_inline(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the loop's thread; the transaction's first write without a
        busy wait, and in the connection's thread if another process holds the lock."""
        sqlite = self.sqlite
        if sqlite.in_transaction:
            return fn(*args)
        if self._busy_timeout_ms is None:
            self._busy_timeout_ms = int(sqlite.execute("PRAGMA busy_timeout").fetchone()[0])
        sqlite.execute("PRAGMA busy_timeout=0")
        try:
            return fn(*args)
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
        finally:
            sqlite.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        # another process writes: wait for it where waiting does not stop the loop
        return await_(self._connection._execute(fn, *args))

    def commit(self) -> None:
        if not self.writing:
            super().commit()
            return
        try:
            self.sqlite.commit()
        except Exception as error:
            self._handle_exception(error)

    def rollback(self) -> None:
        if self._connection._connection is None or not self.sqlite.in_transaction:
            return  # nothing to roll back: no round trip (the pool does this at every return)
        if not self.writing:
            super().rollback()
            return
        try:
            self.sqlite.rollback()
        except Exception as error:
            self._handle_exception(error)


class InlineWriteDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module SQLAlchemy's aiosqlite dialect is given (``module=``)."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> InlineWriteConnection:
        kw["check_same_thread"] = False
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's own adapter does
        return InlineWriteConnection(self, await_(connection))


@contextlib.contextmanager
def point_reads(dbapi_connection: Any) -> Iterator[None]:
    """Within it, reads on ``dbapi_connection`` run on the loop's thread: for lookups by
    key only (a large read would stop the loop for its duration)."""
    if not isinstance(dbapi_connection, InlineWriteConnection):
        yield
        return
    dbapi_connection.point_reads = True
    try:
        yield
    finally:
        dbapi_connection.point_reads = False
