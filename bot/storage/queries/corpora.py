"""Corpora: the texts runs train on, stored once by sha256 and deleted only when unused."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, exists, select

from bot.storage.records import (
    Corpus,
    _corpus,
)
from bot.storage.schema import (
    CorpusRow,
    CorpusSource,
    ModelVersionRow,
    TrainingRunRow,
    utcnow,
)
from bot.storage.session import Queries, _upsert_insert


class CorpusQueries(Queries):
    """Corpora."""

    async def add_corpus(
        self,
        *,
        path: str,
        sha256: str,
        chars: int,
        size_bytes: int,
        source: CorpusSource | str,
        uploaded_by: int | None = None,
    ) -> Corpus:
        """Record a corpus; one with the same SHA-256 is returned instead (an upsert).

        Two identical uploads at the same moment therefore share one row and one file.
        """
        values = {
            "path": path,
            "sha256": sha256,
            "chars": chars,
            "size_bytes": size_bytes,
            # Validated here for a clear ValueError; the CHECK constraint is the backstop.
            "source": CorpusSource(source).value,
            "uploaded_by": uploaded_by,
            "created_at": utcnow(),
        }
        async with self._sessions() as session, session.begin():
            insert = _upsert_insert(session)
            await session.execute(
                insert(CorpusRow).values(**values).on_conflict_do_nothing(index_elements=["sha256"])
            )
            row = await session.scalar(select(CorpusRow).where(CorpusRow.sha256 == sha256))
            assert row is not None  # inserted or already there, in this transaction
            return _corpus(row)

    async def delete_corpus_if_unused(self, corpus_id: int) -> Corpus | None:
        """Delete a corpus no training run or model version refers to; the deleted record.

        One statement, so a run started on it at the same moment either keeps it (the
        run's row exists first) or fails cleanly with CorpusNotFoundError.
        """
        async with self._sessions() as session, session.begin():
            row = await session.get(CorpusRow, corpus_id)
            if row is None:
                return None
            record = _corpus(row)
            result = cast(
                CursorResult[Any],
                await session.execute(
                    delete(CorpusRow).where(CorpusRow.id == corpus_id, *_unused_corpus())
                ),
            )
            return record if result.rowcount else None

    async def unused_corpora(self, created_before: datetime) -> list[Corpus]:
        """Corpora no run or version refers to, created before ``created_before``."""
        stmt = select(CorpusRow).where(CorpusRow.created_at < created_before, *_unused_corpus())
        async with self._sessions() as session:
            return [_corpus(row) for row in await session.scalars(stmt)]

    async def corpora_referenced(self) -> list[Corpus]:
        """Corpora a run or a version refers to (to store older ones as blobs)."""
        stmt = select(CorpusRow).where(~and_(*_unused_corpus()))
        async with self._sessions() as session:
            return [_corpus(row) for row in await session.scalars(stmt)]

    async def get_corpus(self, corpus_id: int) -> Corpus | None:
        async with self._sessions() as session:
            row = await session.get(CorpusRow, corpus_id)
            return None if row is None else _corpus(row)

    async def find_corpus_by_sha(self, sha256: str) -> Corpus | None:
        """The newest corpus with this content hash."""
        stmt = (
            select(CorpusRow)
            .where(CorpusRow.sha256 == sha256)
            .order_by(CorpusRow.id.desc())
            .limit(1)
        )
        async with self._sessions() as session:
            row = await session.scalar(stmt)
            return None if row is None else _corpus(row)

    async def latest_corpus(self) -> Corpus | None:
        async with self._sessions() as session:
            row = await session.scalar(select(CorpusRow).order_by(CorpusRow.id.desc()).limit(1))
            return None if row is None else _corpus(row)


def _unused_corpus() -> list[Any]:
    return [
        ~exists().where(TrainingRunRow.corpus_id == CorpusRow.id),
        ~exists().where(ModelVersionRow.corpus_id == CorpusRow.id),
    ]
