"""Cluster mode on a real PostgreSQL server: what replicas share through the database.

Each "replica" here is its own Storage (its own engine and connection pool) on one fresh
database, as separate processes would be. The end-to-end test with real processes behind
nginx is tests/test_cluster_e2e.py.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cluster.heartbeat import Heartbeat, live_window
from bot.cluster.versions import LISTENER_NAME, VersionFollower
from bot.storage import Storage, create_engine, create_session_maker, migrate_to_head
from bot.storage.notify import notify_version_changed
from bot.storage.queries.limits import SharedCounters
from bot.storage.queries.replicas import TRAINER, ReplicaQueries
from bot.storage.schema import utcnow
from tests.postgres import fresh_postgres_database, needs_postgres
from tests.private_postgres import needs_private_postgres, private_postgres
from tests.test_storage import add_version

pytestmark = needs_postgres

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database("test_cluster") as url:
        yield url


async def test_replicas_migrating_a_fresh_database_at_once_all_succeed(pg_url: str) -> None:
    # Three processes (Alembic is not thread-safe, and replicas are processes): without
    # the advisory lock the racers create the same tables and all but one fail.
    code = "import sys; from bot.storage import migrate_to_head_sync as m; m(sys.argv[1])"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, pg_url, cwd=ROOT, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(3)
    ]
    errors = [(await p.communicate())[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    async with Storage(await _sessions(pg_url)) as storage:
        assert await storage.list_model_versions() == []


async def _sessions(url: str) -> async_sessionmaker[AsyncSession]:
    return create_session_maker(create_engine(url))


class Calls:
    def __init__(self) -> None:
        self.count = 0
        self.changed = asyncio.Event()

    async def follow(self) -> None:
        self.count += 1
        self.changed.set()

    async def next_call(self, timeout: float) -> None:
        await asyncio.wait_for(self.changed.wait(), timeout)
        self.changed.clear()


async def test_a_committed_activation_reaches_listeners_within_2_s_and_a_rolled_back_one_never(
    pg_url: str,
) -> None:
    await migrate_to_head(pg_url)
    writer = await Storage.open(pg_url, migrate=False)
    calls = Calls()
    follower = VersionFollower(calls.follow, pg_url, interval_s=600)  # no periodic help
    try:
        first = await add_version(writer, activate=True)
        second = await add_version(writer)
        await follower.start()
        await calls.next_call(10)  # the check after connecting
        assert first.id != second.id

        with pytest.raises(RuntimeError):
            async with writer.session_maker() as session, session.begin():
                await session.execute(
                    text("UPDATE model_versions SET is_active = (id = :id)"), {"id": second.id}
                )
                await notify_version_changed(session, second.id)
                raise RuntimeError("rolled back")
        with pytest.raises(TimeoutError):
            await calls.next_call(1.0)
        assert (await writer.active_model_version()).id == first.id  # type: ignore[union-attr]

        await writer.activate_model_version(second.id)
        await calls.next_call(2.0)
        registered = await add_version(writer, activate=True)  # a training finishing
        await calls.next_call(2.0)
        assert (await writer.active_model_version()).id == registered.id  # type: ignore[union-attr]
    finally:
        await follower.stop()
        await writer.close()


async def test_the_listener_reconnects_after_its_connection_is_killed(pg_url: str) -> None:
    await migrate_to_head(pg_url)
    writer = await Storage.open(pg_url, migrate=False)
    calls = Calls()
    follower = VersionFollower(calls.follow, pg_url, interval_s=600)
    try:
        version = await add_version(writer)
        await follower.start()
        await calls.next_call(10)
        async with writer.session_maker() as session:
            killed = await session.scalar(
                text(
                    # this test's database only: other tests' replicas listen on the
                    # same server at the same time
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": LISTENER_NAME},
            )
        assert killed == 1
        await calls.next_call(15)  # reconnected (after a 1 s backoff) and checked once
        await asyncio.wait_for(follower.listening.wait(), 5)
        await writer.activate_model_version(version.id)
        await calls.next_call(2.0)
    finally:
        await follower.stop()
        await writer.close()


async def test_pending_slots_and_the_rate_hold_across_replicas(pg_url: str) -> None:
    await migrate_to_head(pg_url)
    a = SharedCounters(await _sessions(pg_url), slot_ttl=300)
    b = SharedCounters(await _sessions(pg_url), slot_ttl=300)
    user = 4242
    # Six reservations racing on two "replicas" for a limit of 2: exactly two win.
    won = await asyncio.gather(*(c.begin(user, 2) for c in (a, b) * 3))
    assert sorted(won) == [False] * 4 + [True] * 2
    assert await a.pending_by_user() == {user: 2}
    assert await a.refused(user, "pending") is True  # told once per burst...
    assert await b.refused(user, "pending") is False
    await b.end(user)
    await a.end(user)
    assert await b.pending_by_user() == {}
    assert await a.refused(user, "pending") is True  # ...and again after the burst ended

    waits = await asyncio.gather(*(c.take_token(user, 3) for c in (a, b) * 3))
    assert sum(w == 0.0 for w in waits) == 3
    assert all(0 < w <= 20.5 for w in waits if w)  # 3 a minute: one token per 20 s
    assert await a.refused(user, "rate") is True
    assert await b.refused(user, "rate") is False
    assert await b.refusals_today() == {"pending": 3, "rate": 2}


async def test_slots_of_a_replica_killed_while_holding_them_expire(pg_url: str) -> None:
    await migrate_to_head(pg_url)
    dead = SharedCounters(await _sessions(pg_url), slot_ttl=1.0)
    alive = SharedCounters(await _sessions(pg_url), slot_ttl=1.0)
    assert await dead.begin(7, 2) and await dead.begin(7, 2)  # never ended: killed
    assert not await alive.begin(7, 2)
    await asyncio.sleep(1.2)
    assert await alive.pending_by_user() == {}
    assert await alive.begin(7, 2)


async def test_heartbeats_list_live_replicas_and_forget_dead_ones(pg_url: str) -> None:
    await migrate_to_head(pg_url)
    queries = ReplicaQueries(await _sessions(pg_url))
    served = {"a": 1, "b": 2}
    a = Heartbeat(queries, lambda: served["a"], interval_s=10, forget_s=600)
    b = Heartbeat(queries, lambda: served["b"], interval_s=10, forget_s=600)
    await a.start()
    await b.start()
    try:
        live = await queries.live_replicas(live_window(10))
        assert {(r.id, r.model_version_id) for r in live} == {(a.replica_id, 1), (b.replica_id, 2)}
        served["a"] = 2
        await a.report_if_changed()
        live = await queries.live_replicas(live_window(10))
        assert {r.model_version_id for r in live} == {2}
        await b.stop()  # an orderly stop removes the row
        assert [r.id for r in await queries.live_replicas(live_window(10))] == [a.replica_id]
        # A row left by a killed replica: not live after 3 missed beats, deleted later.
        async with queries._sessions() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO replicas VALUES ('gone', 'h', 1, 1, now() - interval '2 hours', "
                    "now() - interval '1 hour')"
                )
            )
        assert len(await queries.live_replicas(timedelta(days=1))) == 2
        assert len(await queries.live_replicas(live_window(10))) == 1
        await a.beat()
        assert len(await queries.live_replicas(timedelta(days=1))) == 1
    finally:
        await a.stop()


async def _trainer_row_seen_an_hour_ago(queries: ReplicaQueries, beat_s: float) -> str:
    owner = "trainer@far-away:1:abcdef01:abcdef"
    await queries.beat(owner, host="far-away", pid=1, model_version_id=None,
                       started_at=utcnow(), forget_after=timedelta(days=1),
                       role=TRAINER, beat_s=beat_s)  # fmt: skip
    async with queries._sessions() as session, session.begin():
        await session.execute(
            text("UPDATE replicas SET last_seen_at = now() - interval '1 hour' WHERE id = :id"),
            {"id": owner},
        )
    return owner


async def test_a_trainer_that_missed_three_beats_is_silent_and_one_never_heard_of_is_not(
    pg_url: str,
) -> None:
    await migrate_to_head(pg_url)
    queries = ReplicaQueries(await _sessions(pg_url))
    owner = await _trainer_row_seen_an_hour_ago(queries, beat_s=0.01)
    # a trainer without a row (an older release) is left to its run's lease
    assert await queries.silent_trainers([owner, "trainer@nowhere:2:0:0"], 3) == [owner]
    assert await queries.live_replicas(timedelta(days=1)) == []  # /models lists bots only


@needs_private_postgres
async def test_beats_missed_while_postgresql_restarted_do_not_make_a_trainer_silent() -> None:
    """Nobody can beat while the server is down: beats count from its start, so a
    restart or a failover fails no live run."""
    async with private_postgres() as pg:
        await migrate_to_head(pg.url)
        queries = ReplicaQueries(await _sessions(pg.url))
        owner = await _trainer_row_seen_an_hour_ago(queries, beat_s=60)
        await pg.arestart()
        assert await queries.silent_trainers([owner], 3) == []
