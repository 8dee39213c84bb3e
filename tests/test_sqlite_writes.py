"""SQLite's single writer: the bot's write transactions run on the loop's thread while they
hold the write turn, reads run in the connections' threads, and a write that meets
another process's lock waits without stopping the loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.database import create_engine, create_session_maker
from bot.storage.repository import Storage
from bot.storage.sqlite_driver import LARGE_PARAMETER, InlineWriteConnection, point_reads


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", busy_timeout_s=2)

    @event.listens_for(engine.sync_engine, "connect")
    def thread_function(dbapi_connection: InlineWriteConnection, _record: object) -> None:
        # which thread ran the statement that calls it
        dbapi_connection.sqlite.create_function("thread_id", 0, threading.get_ident)

    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v)"))
    yield engine
    await engine.dispose()


async def _thread_of_insert(engine: AsyncEngine, value: object = None) -> int:
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO t (v) VALUES (:v)"), {"v": value if value is not None else 1}
        )
        result = await connection.execute(text("SELECT thread_id()"))
        return int(result.scalar_one())


async def test_a_write_transaction_runs_on_the_loops_thread(engine: AsyncEngine) -> None:
    assert await _thread_of_insert(engine) == threading.get_ident()


async def test_a_read_outside_a_write_runs_in_the_connections_thread(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        reader = (await connection.execute(text("SELECT thread_id()"))).scalar_one()
    assert reader != threading.get_ident()


async def test_a_point_read_runs_on_the_loops_thread_and_only_within_its_block(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        with point_reads(raw.dbapi_connection):
            inline = (await connection.execute(text("SELECT thread_id()"))).scalar_one()
        after = (await connection.execute(text("SELECT thread_id()"))).scalar_one()
    assert inline == threading.get_ident()
    assert after != threading.get_ident()


async def test_the_storages_key_lookups_and_one_statement_writes_run_on_the_loops_thread(
    engine: AsyncEngine,
) -> None:
    queries = Storage(create_session_maker(engine))
    [(reader,)] = await queries._read(text("SELECT thread_id()"), {})
    [(writer,)] = await queries._write(
        text("INSERT INTO t (v) VALUES (thread_id()) RETURNING v"), {}
    )
    assert reader == writer == threading.get_ident()


async def test_large_parameters_and_deletes_are_written_from_the_connections_thread(
    engine: AsyncEngine,
) -> None:
    big = "x" * (LARGE_PARAMETER + 1)
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (v) VALUES (1)"))  # takes the turn
        await connection.execute(
            text("INSERT INTO t (v) VALUES (thread_id() || :big)"), {"big": big}
        )
        # deletes the first row only where it does not run on the loop's thread
        await connection.execute(
            text("DELETE FROM t WHERE v = 1 AND thread_id() != :loop"),
            {"loop": threading.get_ident()},
        )
    async with engine.connect() as connection:
        [stored] = (await connection.execute(text("SELECT v FROM t"))).scalars().all()
    assert not stored.startswith(str(threading.get_ident()))
    assert stored.endswith(big)


async def test_a_failed_write_transaction_is_rolled_back_and_the_next_one_is_served(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(OperationalError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (v) VALUES (1)"))
            await connection.execute(text("INSERT INTO no_such_table VALUES (1)"))
    await asyncio.wait_for(_thread_of_insert(engine), 5)
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1


async def test_concurrent_write_transactions_that_yield_mid_transaction_all_commit(
    engine: AsyncEngine,
) -> None:
    async def write(i: int) -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": i})
            await asyncio.sleep(0)  # yields while holding the turn: the others queue
            await connection.execute(text("UPDATE t SET v = v + 1000 WHERE v = :v"), {"v": i})

    await asyncio.gather(*(write(i) for i in range(50)))
    async with engine.connect() as connection:
        values = (await connection.execute(text("SELECT v FROM t"))).scalars().all()
    assert sorted(values) == [1000 + i for i in range(50)]


async def test_a_write_cancelled_while_its_delete_runs_in_the_thread_is_cancelled_cleanly(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """A stop cancels a loop in the middle of a DELETE (run in the connection's thread).
    The rollback that follows must wait for the thread: run on the loop's thread at once,
    it met the DELETE still running there ("Recursive use of cursors not allowed"), the
    error replaced the cancellation, and the loop caught it and ran on (a stop took 10 s
    longer)."""
    started = threading.Event()

    @event.listens_for(engine.sync_engine, "connect")
    def slow_function(dbapi_connection: InlineWriteConnection, _record: object) -> None:
        def slow(value: object) -> int:
            started.set()
            time.sleep(0.3)
            return 1

        dbapi_connection.sqlite.create_function("slow", 1, slow)

    await _thread_of_insert(engine)
    await engine.dispose()  # connections made from here on have slow()

    async def prune() -> None:
        sessions = create_session_maker(engine)
        async with sessions() as session, session.begin():  # as the inbox's prune does
            await session.execute(text("DELETE FROM t WHERE slow(v) = 1 RETURNING id"))

    task = asyncio.create_task(prune())
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    await asyncio.wait({task}, timeout=5)
    assert task.cancelled()
    await asyncio.wait_for(_thread_of_insert(engine), 5)  # the turn and the pool are free
    async with engine.connect() as connection:
        values = (await connection.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
    assert values == [1, 1]  # the cancelled DELETE was rolled back
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def _hold_write_lock(path: Path, seconds: float, locked: threading.Event) -> None:
    """Another process's writer: holds SQLite's write lock for ``seconds``."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t (v) VALUES ('other')")
    locked.set()
    time.sleep(seconds)
    other.execute("COMMIT")
    other.close()


@contextlib.asynccontextmanager
async def another_writer(path: Path, seconds: float) -> AsyncIterator[None]:
    """Within it, another connection holds SQLite's write lock (for ``seconds`` in all)."""
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, seconds, locked))
    holder.start()
    await asyncio.to_thread(locked.wait)
    try:
        yield
    finally:
        await asyncio.to_thread(holder.join)


async def test_a_write_meeting_another_writers_lock_waits_without_stopping_the_loop(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async with another_writer(tmp_path / "bot.db", 0.6):
        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        await _thread_of_insert(engine)
        waited = time.monotonic() - started
        ticker.cancel()
    assert waited >= 0.4  # it did wait for the other writer
    assert ticks >= 10  # and the loop kept running meanwhile
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
    assert rows == ["other", 1]


async def test_a_write_locked_out_past_the_busy_timeout_fails_and_frees_the_turn(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with another_writer(tmp_path / "bot.db", 3.0):
        with pytest.raises(OperationalError, match="locked"):
            await _thread_of_insert(engine)
    assert await asyncio.wait_for(_thread_of_insert(engine), 5) == threading.get_ident()


async def test_a_task_cancelled_while_its_new_connection_is_set_up_is_cancelled_cleanly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A stop cancelled a loop while the pool opened a connection for it (the pragmas
    of every new connection run in the connection's thread)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", busy_timeout_s=2)
    started = threading.Event()

    @event.listens_for(engine.sync_engine, "connect")
    def slow_setup(dbapi_connection: InlineWriteConnection, _record: object) -> None:
        def slow() -> int:
            started.set()
            time.sleep(0.3)
            return 1

        dbapi_connection.sqlite.create_function("slow", 0, slow)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT slow()")
        finally:
            cursor.close()

    async def use() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    try:
        task = asyncio.create_task(use())
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        await asyncio.wait({task}, timeout=5)
        assert task.cancelled()
        await asyncio.wait_for(use(), 5)
    finally:
        await engine.dispose()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
