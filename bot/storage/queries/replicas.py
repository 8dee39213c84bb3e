"""Heartbeats: one row per running bot process (replica) or trainer.

Written by bot/cluster/heartbeat.py, read by ``/models`` (replicas) and by whoever looks
for runs whose trainer died (trainers). Times are the replicas' own
clocks (UTC), so hosts are expected to keep them in sync (NTP) within a heartbeat or so.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.records import Replica, from_row
from bot.storage.schema import ReplicaRow, utcnow
from bot.storage.session import Queries, _upsert_insert

BOT = "bot"  # a replica: listed by /models
TRAINER = "trainer"  # python -m bot.trainer: its silence fails the run it drives


def _replica(row: ReplicaRow) -> Replica:
    return from_row(Replica, row)


class ReplicaQueries(Queries):
    """The ``replicas`` table."""

    def __init__(self, session_maker: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_maker

    async def beat(
        self,
        replica_id: str,
        *,
        host: str,
        pid: int,
        model_version_id: int | None,
        started_at: datetime,
        forget_after: timedelta,
        role: str = BOT,
        beat_s: float | None = None,
    ) -> None:
        """Create or refresh this process's row, and delete rows not refreshed for
        ``forget_after`` (processes that died without removing theirs)."""
        now = utcnow()
        insert = _upsert_insert
        async with self._sessions() as session, session.begin():
            values = {
                "id": replica_id,
                "host": host,
                "pid": pid,
                "model_version_id": model_version_id,
                "started_at": started_at,
                "last_seen_at": now,
                "role": role,
                "beat_s": beat_s,
            }
            stmt = insert(session)(ReplicaRow).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[ReplicaRow.id],
                set_={"model_version_id": model_version_id, "last_seen_at": now, "beat_s": beat_s},
            )
            await session.execute(stmt)
            await session.execute(
                delete(ReplicaRow).where(ReplicaRow.last_seen_at < now - forget_after)
            )

    async def remove_replica(self, replica_id: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(ReplicaRow).where(ReplicaRow.id == replica_id))

    async def live_replicas(self, seen_within: timedelta) -> list[Replica]:
        """Replicas heard of within ``seen_within``, oldest first."""
        since = utcnow() - seen_within
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ReplicaRow)
                .where(ReplicaRow.last_seen_at >= since, ReplicaRow.role == BOT)
                .order_by(ReplicaRow.started_at, ReplicaRow.id)
            )
            return [_replica(row) for row in rows]

    async def silent_trainers(self, ids: Collection[str], missed_beats: int) -> list[str]:
        """Of ``ids``, the trainers unheard of for ``missed_beats`` of their own intervals.

        A trainer with no row (its first beat failed, or a release without heartbeats)
        is not called silent: only its run's lease tells then. Nor is one that has been
        silent only since PostgreSQL (re)started: nobody could beat while it was down,
        so every trainer gets its beats counted from the server's start (a restart or a
        failover would otherwise fail every live run at once).
        """
        if not ids:
            return []
        now = utcnow()
        async with self._sessions() as session:
            rows = await session.execute(
                select(ReplicaRow.id, ReplicaRow.last_seen_at, ReplicaRow.beat_s).where(
                    ReplicaRow.id.in_(list(ids)),
                    ReplicaRow.role == TRAINER,
                    ReplicaRow.beat_s.is_not(None),
                )
            )
            quiet = [
                (row_id, seen, timedelta(seconds=beat_s * missed_beats))
                for row_id, seen, beat_s in rows.all()
                if beat_s is not None and now - seen > timedelta(seconds=beat_s * missed_beats)
            ]
            if quiet and session.get_bind().dialect.name == "postgresql":
                up_since = await session.scalar(text("SELECT pg_postmaster_start_time()"))
                quiet = [q for q in quiet if up_since is None or now - up_since > q[2]]
            return [row_id for row_id, _, _ in quiet]
