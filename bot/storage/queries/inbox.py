"""The ``updates`` table: record, claim with a lease, renew, mark done, prune.

A claim is one UPDATE that re-checks its own condition (not done, unclaimed or with an
expired lease), so of two processes racing for the same row exactly one gets it: on
PostgreSQL the candidates are also locked with ``FOR UPDATE SKIP LOCKED`` so replicas
claim different rows instead of waiting for each other; on SQLite writes are serial
anyway (one writer, bot/storage/database.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BindParameter, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.schema import GenerationRow, UpdateRow, utcnow
from bot.storage.session import Queries, _upsert_insert

# Built once: run for every update (Queries._write says why).
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_MARK_DONE = (
    update(UpdateRow)
    .where(UpdateRow.update_id.in_(_IDS), UpdateRow.done_at.is_(None))
    .values(done_at=bindparam("now"), claimed_until=None)
)
_MARK_REPLY_STARTED = (
    update(UpdateRow).where(UpdateRow.update_id.in_(_IDS)).values(reply_started_at=bindparam("at"))
)


@dataclass(frozen=True)
class ClaimedUpdate:
    update_id: int
    payload: str  # JSON
    attempts: int  # this claim included: above 1, another process may have begun it


@dataclass(frozen=True)
class StoredReply:
    """A generation stored for an update: what a process taking it over sends."""

    generation_id: int
    chat_id: int
    output: str
    delivered: bool


class InboxQueries(Queries):
    """The ``updates`` table."""

    def __init__(self, session_maker: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_maker

    async def record_updates(self, updates: Sequence[tuple[int, str]]) -> int:
        """Record ``(update_id, JSON)`` pairs in one transaction; ids already recorded
        (a redelivery) are left as they are. Returns how many were new."""
        if not updates:
            return 0
        now = utcnow()
        async with self._sessions() as session, session.begin():
            stmt = (
                _upsert_insert(session)(UpdateRow)
                .values(
                    [
                        {"update_id": uid, "payload": payload, "received_at": now, "attempts": 0}
                        for uid, payload in updates
                    ]
                )
                .on_conflict_do_nothing(index_elements=[UpdateRow.update_id])
                .returning(UpdateRow.update_id)
            )
            return len((await session.scalars(stmt)).all())

    async def claim_updates(self, owner: str, lease: timedelta, limit: int) -> list[ClaimedUpdate]:
        """Claim up to ``limit`` updates nobody holds (oldest first) for ``lease``."""
        if limit <= 0:
            return []
        now = utcnow()
        free = and_(
            UpdateRow.done_at.is_(None),
            or_(UpdateRow.claimed_until.is_(None), UpdateRow.claimed_until < now),
        )
        async with self._sessions() as session, session.begin():
            candidates = (
                await session.scalars(
                    select(UpdateRow.update_id)
                    .where(free)
                    .order_by(UpdateRow.update_id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not candidates:
                return []
            rows = await session.execute(
                update(UpdateRow)
                .where(UpdateRow.update_id.in_(candidates), free)
                .values(
                    claimed_by=owner, claimed_until=now + lease, attempts=UpdateRow.attempts + 1
                )
                .returning(UpdateRow.update_id, UpdateRow.payload, UpdateRow.attempts)
            )
            claimed = [ClaimedUpdate(int(u), p, int(a)) for u, p, a in rows.all()]
        return sorted(claimed, key=lambda c: c.update_id)

    async def renew_claims(self, owner: str, update_ids: Iterable[int], lease: timedelta) -> None:
        """Extend this process's claims on updates it is still working on."""
        ids = list(update_ids)
        if not ids:
            return
        async with self._engine.begin() as connection:
            await connection.execute(
                update(UpdateRow)
                .where(
                    UpdateRow.update_id.in_(ids),
                    UpdateRow.claimed_by == owner,
                    UpdateRow.done_at.is_(None),
                )
                .values(claimed_until=utcnow() + lease)
            )

    async def mark_updates_done(self, update_ids: Sequence[int]) -> None:
        """Mark updates handled, in one transaction (the inbox commits them in groups)."""
        if update_ids:
            await self._write(_MARK_DONE, {"ids": list(update_ids), "now": utcnow()})

    async def mark_replies_started(self, update_ids: Sequence[int]) -> None:
        """Record that messages answering these updates are being handed to Telegram, in
        one transaction."""
        if update_ids:
            await self._write(_MARK_REPLY_STARTED, {"ids": list(update_ids), "at": utcnow()})

    async def clear_reply_started(self, update_id: int) -> None:
        """Telegram refused the message answering ``update_id``: nothing reached the user."""
        await self._write(_MARK_REPLY_STARTED, {"ids": [update_id], "at": None})

    async def reply_started(self, update_id: int) -> bool:
        """Whether a message answering ``update_id`` may have reached the user."""
        async with self._sessions() as session:
            started = await session.scalar(
                select(UpdateRow.reply_started_at).where(UpdateRow.update_id == update_id)
            )
        return started is not None

    async def presume_delivered(self, generation_id: int) -> None:
        """A generation whose send began but whose answer died with its process: it is
        counted as delivered (Telegram had it), not sent a second time."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(GenerationRow)
                .where(GenerationRow.id == generation_id)
                .values(delivered=True)
            )

    async def release_claims(self, owner: str, update_ids: Iterable[int]) -> None:
        """Give back claims at an orderly stop (the next taker checks for a stored reply)."""
        ids = list(update_ids)
        if not ids:
            return
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(UpdateRow)
                .where(UpdateRow.update_id.in_(ids), UpdateRow.claimed_by == owner)
                .values(claimed_by=None, claimed_until=None)
            )

    async def expire_all_claims(self) -> int:
        """End every open claim now: for the only process reading updates (polling),
        whatever is claimed at its start was claimed by a process that is gone."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(UpdateRow)
                .where(UpdateRow.done_at.is_(None), UpdateRow.claimed_until.is_not(None))
                .values(claimed_until=None)
                .returning(UpdateRow.update_id)
            )
            return len(result.all())

    async def prune_done_updates(self, done_before: datetime) -> int:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(UpdateRow)
                .where(UpdateRow.done_at.is_not(None), UpdateRow.done_at < done_before)
                .returning(UpdateRow.update_id)
            )
            return len(result.all())

    async def open_updates(self) -> int:
        """Updates recorded and not done (claimed or not)."""
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(UpdateRow).where(UpdateRow.done_at.is_(None))
            )
            return int(count or 0)

    async def reply_for_update(self, update_id: int) -> StoredReply | None:
        """The generation stored for ``update_id`` (the latest, if several), if any."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(
                        GenerationRow.id,
                        GenerationRow.chat_id,
                        GenerationRow.output,
                        GenerationRow.delivered,
                    )
                    .where(GenerationRow.update_id == update_id)
                    .order_by(GenerationRow.id.desc())
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        return StoredReply(int(row[0]), int(row[1]), str(row[2]), bool(row[3]))
