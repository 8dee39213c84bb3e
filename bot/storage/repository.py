"""The bot's database: one object whose methods each run one transaction.

The queries live in one module per subject (users, generations, model versions,
corpora, training runs and their leases); :class:`Storage` composes them and owns the engine.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.database import create_engine, create_session_maker, migrate_to_head
from bot.storage.queries.blobs import BlobQueries
from bot.storage.queries.corpora import CorpusQueries
from bot.storage.queries.generations import GenerationQueries
from bot.storage.queries.leases import RunLeaseQueries
from bot.storage.queries.users import UserQueries
from bot.storage.queries.versions import ModelVersionQueries

__all__ = ["Storage"]

# --------------------------------------------------------------------------- storage


class Storage(
    UserQueries,
    GenerationQueries,
    ModelVersionQueries,
    CorpusQueries,
    RunLeaseQueries,
    BlobQueries,
):
    """The bot's database, behind async methods that each run one transaction."""

    def __init__(
        self,
        session_maker: async_sessionmaker[AsyncSession],
        *,
        engine: AsyncEngine | None = None,
    ) -> None:
        """``engine``, if given, is owned by this Storage and disposed by :meth:`close`."""
        self._sessions = session_maker
        self._owned_engine = engine

    @classmethod
    async def open(cls, url: str, migrate: bool = True, **engine_kwargs: Any) -> Self:
        """Connect to ``url``, first upgrading the schema to head unless ``migrate`` is false."""
        if migrate:
            await migrate_to_head(url)
        engine = create_engine(url, **engine_kwargs)
        return cls(create_session_maker(engine), engine=engine)

    @property
    def session_maker(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    async def close(self) -> None:
        if self._owned_engine is not None:
            await self._owned_engine.dispose()

    async def dispose(self) -> None:
        await self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
