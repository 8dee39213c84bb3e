"""Users and their preferences."""

from __future__ import annotations

import math
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select

from bot.storage.records import (
    User,
    _user,
)
from bot.storage.schema import (
    GenerationRow,
    UserRow,
    utcnow,
)
from bot.storage.session import (
    Queries,
    _upsert_insert,
)


class UserQueries(Queries):
    """Users: rows, preferences, forgetting."""

    # ------------------------------------------------------------------------ users

    async def upsert_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> User:
        """Create the user or refresh their Telegram profile; preferences are kept."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            insert = _upsert_insert(session)
            stmt = insert(UserRow).values(
                id=user_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                language_code=language_code,
                created_at=now,
                updated_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[UserRow.id],
                set_={
                    "first_name": stmt.excluded.first_name,
                    "last_name": stmt.excluded.last_name,
                    "username": stmt.excluded.username,
                    "language_code": stmt.excluded.language_code,
                    "updated_at": stmt.excluded.updated_at,
                },
            ).returning(UserRow)
            row = (await session.scalars(stmt, execution_options={"populate_existing": True})).one()
            return _user(row)

    async def get_user(self, user_id: int) -> User | None:
        async with self._sessions() as session:
            row = await session.get(UserRow, user_id)
            return None if row is None else _user(row)

    async def get_temperature(self, user_id: int) -> float | None:
        """The user's chosen temperature; None if unset or the user is unknown."""
        async with self._sessions() as session:
            value: float | None = await session.scalar(
                select(UserRow.temperature).where(UserRow.id == user_id)
            )
            return value

    async def set_temperature(
        self, user_id: int, value: float | None, *, first_name: str = ""
    ) -> None:
        """Store the user's temperature (None: back to the default).

        Creates the user row if missing, so a preference is never lost; ``first_name``
        is only used then, and the next :meth:`upsert_user` fills in the real profile.
        """
        if value is not None and not math.isfinite(value):
            raise ValueError(f"temperature must be a finite number, got {value!r}")
        now = utcnow()
        async with self._sessions() as session, session.begin():
            insert = _upsert_insert(session)
            stmt = insert(UserRow).values(
                id=user_id, first_name=first_name, temperature=value, created_at=now, updated_at=now
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[UserRow.id],
                set_={
                    "temperature": stmt.excluded.temperature,
                    "updated_at": stmt.excluded.updated_at,
                },
            )
            await session.execute(stmt)

    async def forget_user(self, user_id: int) -> int:
        """Delete the user's generations and their row; return how many generations went.

        The generations are deleted explicitly rather than left to ON DELETE CASCADE so
        the count is exact and nothing depends on SQLite's foreign_keys pragma.
        """
        async with self._sessions() as session, session.begin():
            stmt = delete(GenerationRow).where(GenerationRow.user_id == user_id)
            deleted = cast(CursorResult[Any], await session.execute(stmt))
            await session.execute(delete(UserRow).where(UserRow.id == user_id))
            return deleted.rowcount

    async def count_users(self) -> int:
        async with self._sessions() as session:
            return (await session.scalar(select(func.count()).select_from(UserRow))) or 0
