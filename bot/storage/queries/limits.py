"""Per-user /write counters shared by every replica.

The PostgreSQL-backed implementation of ``bot.rules.limits.Counters`` (same methods, same
answers as ``MemoryCounters``), used in cluster mode so that a user's limits hold however
the reverse proxy spreads their updates. Each method is one transaction that first
locks the user's row in ``user_limits`` (``SELECT ... FOR UPDATE``, the row created on
first use), so two replicas deciding for the same user at the same moment decide one
after the other. Times come from the database's clock (``clock_timestamp()``), so
replicas with slightly different clocks still refill one bucket consistently.

Pending slots cannot be given back by a replica that is killed while holding them. So
the counter carries an expiry, pushed forward by every reservation: once no slot has
been taken for ``slot_ttl``, whatever is left is forgotten. A user is therefore never
locked out for longer than that; the price is that an expired count is forgotten
whole, so for a moment after a kill the user may have up to twice their limit in
flight. PostgreSQL only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.schema import LimitRefusalRow, UserLimitRow
from bot.storage.session import Queries

# The kinds of refusal told once per burst (bot.rules.limits.PENDING and RATE).
_PENDING, _RATE = "pending", "rate"


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


class SharedCounters(Queries):
    """``bot.rules.limits.Counters`` in PostgreSQL tables (``user_limits``, ``limit_refusals``)."""

    def __init__(self, session_maker: async_sessionmaker[AsyncSession], slot_ttl: float) -> None:
        self._sessions = session_maker
        self._slot_ttl = timedelta(seconds=slot_ttl)

    @staticmethod
    async def _lock(session: AsyncSession, user_id: int) -> tuple[UserLimitRow, datetime]:
        await session.execute(insert(UserLimitRow).values(user_id=user_id).on_conflict_do_nothing())
        row = (
            await session.scalars(
                select(UserLimitRow).where(UserLimitRow.user_id == user_id).with_for_update()
            )
        ).one()
        # After the lock: the moment this decision is really taken.
        now = await session.scalar(select(func.clock_timestamp()))
        assert isinstance(now, datetime)
        return row, now

    async def begin(self, user_id: int, max_pending: int) -> bool:
        async with self._sessions() as session, session.begin():
            row, now = await self._lock(session, user_id)
            if row.pending_expires_at is None or row.pending_expires_at <= now:
                row.pending, row.told_pending = 0, False  # slots of a dead replica, if any
            if row.pending >= max_pending:
                return False
            row.pending += 1
            row.pending_expires_at = now + self._slot_ttl
            return True

    async def end(self, user_id: int) -> None:
        async with self._sessions() as session, session.begin():
            row, _ = await self._lock(session, user_id)
            row.pending = max(0, row.pending - 1)
            if row.pending == 0:
                row.told_pending = False

    async def take_token(self, user_id: int, per_minute: int) -> float:
        capacity = float(per_minute)
        async with self._sessions() as session, session.begin():
            row, now = await self._lock(session, user_id)
            if row.tokens is None or row.refilled_at is None:
                tokens = capacity
            else:
                elapsed = max(0.0, (now - row.refilled_at).total_seconds())
                tokens = min(capacity, row.tokens + elapsed * per_minute / 60)
            if tokens >= capacity:
                row.told_rate = False  # the burst is over: a new one may be told again
            row.refilled_at = now
            if tokens >= 1.0:
                row.tokens = tokens - 1.0
                return 0.0
            row.tokens = tokens
            return (1.0 - tokens) * 60 / per_minute

    async def refused(self, user_id: int, kind: str) -> bool:
        async with self._sessions() as session, session.begin():
            counted = insert(LimitRefusalRow).values(day=_today(), kind=kind, count=1)
            await session.execute(
                counted.on_conflict_do_update(
                    index_elements=[LimitRefusalRow.day, LimitRefusalRow.kind],
                    set_={"count": LimitRefusalRow.count + 1},
                )
            )
            if kind not in (_PENDING, _RATE):
                return True
            row, _ = await self._lock(session, user_id)
            if kind == _PENDING:
                first, row.told_pending = not row.told_pending, True
            else:
                first, row.told_rate = not row.told_rate, True
            return first

    async def refusals_today(self) -> dict[str, int]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(LimitRefusalRow.kind, LimitRefusalRow.count).where(
                    LimitRefusalRow.day == _today()
                )
            )
            return {kind: count for kind, count in rows.all()}

    async def pending_by_user(self) -> dict[int, int]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(UserLimitRow.user_id, UserLimitRow.pending).where(
                    UserLimitRow.pending > 0,
                    UserLimitRow.pending_expires_at > func.clock_timestamp(),
                )
            )
            return {user_id: pending for user_id, pending in rows.all()}
