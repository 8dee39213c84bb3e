"""Content-addressed files in the database: checkpoints and corpora.

A blob's key is the SHA-256 of its bytes, so storing is an idempotent upsert and a
fetched blob can be verified by anyone. A blob is deleted only when no model version,
corpus or live run refers to its hash, and only once it is older than a grace period:
a file is stored as a blob just before the row that refers to it is written (another
transaction), and a clean-up in between must not take it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, func, select

from bot.storage.schema import BlobRow, CorpusRow, ModelVersionRow, TrainingRunRow, utcnow
from bot.storage.session import Queries, _upsert_insert


class BlobQueries(Queries):
    """Checkpoint and corpus bytes, keyed by SHA-256."""

    async def put_blob(self, data: bytes) -> str:
        """Store ``data`` (once per content); returns its SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        async with self._sessions() as session, session.begin():
            if await session.scalar(select(BlobRow.sha256).where(BlobRow.sha256 == digest)):
                return digest
            insert = _upsert_insert(session)
            await session.execute(
                insert(BlobRow)
                .values(sha256=digest, data=data, size_bytes=len(data), created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["sha256"])
            )
        return digest

    async def get_blob(self, sha256: str) -> bytes | None:
        async with self._sessions() as session:
            data = await session.scalar(select(BlobRow.data).where(BlobRow.sha256 == sha256))
            return None if data is None else bytes(data)

    async def has_blob(self, sha256: str) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(func.count()).select_from(BlobRow).where(BlobRow.sha256 == sha256)
            )
            return bool(found)

    async def delete_unreferenced_blobs(self, created_before: datetime) -> int:
        """Delete blobs no version, corpus or live run refers to; how many went."""
        stmt = delete(BlobRow).where(
            BlobRow.created_at < created_before,
            ~exists().where(
                ModelVersionRow.checkpoint_sha256 == BlobRow.sha256,
                ModelVersionRow.pruned_at.is_(None),  # a pruned version keeps no file
            ),
            ~exists().where(CorpusRow.sha256 == BlobRow.sha256),
            ~exists().where(
                TrainingRunRow.checkpoint_sha256 == BlobRow.sha256,
                TrainingRunRow.live.is_not(None),
            ),
        )
        async with self._sessions() as session, session.begin():
            result = cast(CursorResult[Any], await session.execute(stmt))
            return int(result.rowcount or 0)
