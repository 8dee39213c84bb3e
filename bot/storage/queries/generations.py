"""Generations: storing, listing, exporting, latency statistics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.records import (
    Generation,
    ModelVersionNotFoundError,
    UserNotFoundError,
    _generation,
)
from bot.storage.schema import (
    GenerationRow,
    GenerationSource,
    ModelVersionRow,
    UserRow,
    utcnow,
)
from bot.storage.session import (
    Queries,
    _generation_filters,
    percentile,
)


def storable(text: str) -> str:
    """``text`` as stored: PostgreSQL refuses U+0000 in text columns, so NUL becomes
    U+FFFD (the replacement character) everywhere; the raw NUL is kept nowhere."""
    return text.replace("\x00", "\ufffd")


# Built once: run for every text (Queries._write says why).
_INSERT = insert(GenerationRow).returning(GenerationRow.id)
_MARK_DELIVERED = (
    update(GenerationRow)
    .where(GenerationRow.id == bindparam("generation"))
    .values(delivered=bindparam("value"))
)
_BY_ID = select(*GenerationRow.__table__.columns).where(GenerationRow.id == bindparam("id"))


class GenerationQueries(Queries):
    """Generations."""

    # ------------------------------------------------------------------ generations

    async def add_generation(
        self,
        user_id: int,
        chat_id: int,
        seed: str,
        temperature: float,
        length: int,
        output: str,
        model_version_id: int | None,
        latency_ms: float,
        dropped_chars: str | None = None,
        delivered: bool = True,
        source: GenerationSource = GenerationSource.COMMAND,
        parent_id: int | None = None,
        update_id: int | None = None,
    ) -> int:
        """Record one answered generation and return its id.

        ``delivered=False`` for a reply not yet confirmed by Telegram (see
        :meth:`mark_delivered`). Text is stored with NUL replaced by U+FFFD on every
        database (:func:`storable`), so SQLite and PostgreSQL hold the same thing.
        Raises UserNotFoundError / ModelVersionNotFoundError if the user or version
        does not exist.
        """
        values = {
            "user_id": user_id,
            "chat_id": chat_id,
            "seed": storable(seed),
            "temperature": temperature,
            "length": length,
            "output": storable(output),
            "dropped_chars": None if dropped_chars is None else storable(dropped_chars),
            "model_version_id": model_version_id,
            "latency_ms": latency_ms,
            "delivered": delivered,
            "source": source.value,
            "parent_id": parent_id,
            "update_id": update_id,
            "created_at": utcnow(),
        }
        try:
            [row] = await self._write(_INSERT, values)
            return int(row[0])
        except IntegrityError:
            # Name the missing parent instead of surfacing a driver-specific message.
            async with self._sessions() as session:
                if await session.get(UserRow, user_id) is None:
                    raise UserNotFoundError(user_id) from None
                if (
                    model_version_id is not None
                    and await session.get(ModelVersionRow, model_version_id) is None
                ):
                    raise ModelVersionNotFoundError(model_version_id) from None
            raise

    async def mark_delivered(self, generation_id: int, delivered: bool = True) -> None:
        """Record whether Telegram confirmed the generation's reply (a missing row, e.g.
        after /forget raced the reply, is not an error)."""
        await self._write(_MARK_DELIVERED, {"generation": generation_id, "value": delivered})

    async def get_generation(self, generation_id: int) -> Generation | None:
        """One generation by id (a button names the text it was pressed under);
        None when it does not exist, e.g. after /forget."""
        rows = await self._read(_BY_ID, {"id": generation_id})
        return _generation(rows[0]) if rows else None

    async def user_history(self, user_id: int, limit: int = 10) -> list[Generation]:
        """The user's latest generations, newest first."""
        return await self.list_generations(offset=0, limit=limit, user_id=user_id)

    async def list_generations(
        self,
        offset: int = 0,
        limit: int = 50,
        user_id: int | None = None,
        model_version_id: int | None = None,
        since: datetime | None = None,
    ) -> list[Generation]:
        """One page of generations, newest first, optionally filtered."""
        filters = _generation_filters(user_id, model_version_id, since)
        stmt = (
            select(GenerationRow)
            .where(*filters)
            # id breaks ties between rows written within the clock's resolution.
            .order_by(GenerationRow.created_at.desc(), GenerationRow.id.desc())
        )
        async with self._sessions() as session:
            rows = await session.scalars(stmt.offset(offset).limit(limit))
            return [_generation(row) for row in rows]

    async def count_generations(
        self,
        user_id: int | None = None,
        model_version_id: int | None = None,
        since: datetime | None = None,
    ) -> int:
        filters = _generation_filters(user_id, model_version_id, since)
        stmt = select(func.count()).select_from(GenerationRow).where(*filters)
        async with self._sessions() as session:
            return (await session.scalar(stmt)) or 0

    async def iter_generations(
        self,
        user_id: int | None = None,
        model_version_id: int | None = None,
        *,
        since: datetime | None = None,
        chunk_size: int = 500,
    ) -> AsyncIterator[Generation]:
        """Every matching generation, oldest first (by id), fetched ``chunk_size`` at a time.

        Keyset pagination with a short session per chunk: an export of any size never
        holds a transaction open while the caller writes the CSV.
        """
        async for chunk in self.iter_generation_chunks(
            user_id, model_version_id, since=since, chunk_size=chunk_size
        ):
            for generation in chunk:
                yield generation

    async def iter_generation_chunks(
        self,
        user_id: int | None = None,
        model_version_id: int | None = None,
        *,
        since: datetime | None = None,
        chunk_size: int = 500,
    ) -> AsyncIterator[list[Generation]]:
        """As :meth:`iter_generations`, one list per chunk (an export hands each chunk to
        a thread to write, rather than crossing to it once per row).

        Plain column rows, not ORM objects: no identity map to fill, so a chunk costs the
        event loop little (an export of 120,000 rows is 120 such chunks of 1,000).
        """
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        filters = _generation_filters(user_id, model_version_id, since)
        columns = GenerationRow.__table__.c
        after = 0
        while True:
            stmt = (
                select(*columns)
                .where(*filters, columns.id > after)
                .order_by(columns.id)
                .limit(chunk_size)
            )
            async with self._sessions() as session:
                result = await session.execute(stmt)
                chunk = [Generation(**row._mapping) for row in result]
            if chunk:
                yield chunk
            if len(chunk) < chunk_size:
                return
            after = chunk[-1].id

    async def latency_percentiles(
        self, since: datetime, percentiles: Iterable[float] = (50, 95)
    ) -> dict[int, float] | None:
        """Latency percentiles (ms) of generations since ``since``; None if there were none.

        Computed in Python so that SQLite (which has no percentile function) and
        PostgreSQL give identical answers; the windows used by /stats are small.
        Keys are the requested percentiles as ints (50, 95, ...).
        """
        wanted = list(percentiles)
        for p in wanted:
            if not 0 <= p <= 100:
                raise ValueError(f"percentile out of range: {p!r}")
        filters = _generation_filters(None, None, since)
        async with self._sessions() as session:
            values = sorted(
                (await session.scalars(select(GenerationRow.latency_ms).where(*filters))).all()
            )
        if not values:
            return None
        return {int(p): percentile(values, p) for p in wanted}
