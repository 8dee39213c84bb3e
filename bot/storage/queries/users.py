"""Users and their preferences; admins' access decisions (allow list, blocks) and listings."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, bindparam, delete, func, select

from bot.storage.notify import notify_access_changed
from bot.storage.records import (
    AccessRule,
    User,
    UserSummary,
    _user,
    from_row,
)
from bot.storage.schema import (
    GenerationRow,
    UserAccessRow,
    UserRow,
    utcnow,
)
from bot.storage.session import (
    Queries,
    _upsert_insert,
)

# How fresh "last seen" (``users.updated_at``, the order of /users) is kept: to the minute.
SEEN_RESOLUTION = timedelta(minutes=1)


# Built once (Queries._write says why): the read of every update's user, and the
# preference upserts, per database kind and column.
_USER_BY_ID = select(*UserRow.__table__.columns).where(UserRow.id == bindparam("id"))
_PREFERENCE_UPSERTS: dict[tuple[str, str], Executable] = {}


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
        """Create the user or refresh their Telegram profile; preferences are kept.

        A user whose profile is unchanged and who was seen within ``SEEN_RESOLUTION`` is
        only read: every update calls this, and a write per update would queue a burst
        behind SQLite's single writer for nothing.
        """
        now = utcnow()
        rows = await self._read(_USER_BY_ID, {"id": user_id})
        row = rows[0] if rows else None
        if (
            row is not None
            and (row.first_name, row.last_name, row.username, row.language_code)
            == (first_name, last_name, username, language_code)
            and row.updated_at > now - SEEN_RESOLUTION
        ):
            return _user(row)
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
        await self._set_preference(user_id, "temperature", value, first_name)

    async def set_length(self, user_id: int, value: int | None, *, first_name: str = "") -> None:
        """Store the user's reply length (None: back to the default). Creates
        the user row if missing, as :meth:`set_temperature` does."""
        await self._set_preference(user_id, "length", value, first_name)

    async def _set_preference(
        self, user_id: int, column: str, value: float | int | None, first_name: str
    ) -> None:
        # One upsert, so a preference set before the user's profile row exists is kept.
        dialect = self._engine.dialect.name
        statement = _PREFERENCE_UPSERTS.get((dialect, column))
        if statement is None:  # built once per database kind and column
            insert = _upsert_insert(self._engine)
            stmt = insert(UserRow).values(
                {"id": bindparam("user"), "first_name": bindparam("name"),
                 column: bindparam("value"), "created_at": bindparam("created"),
                 "updated_at": bindparam("updated")}
            )  # fmt: skip
            statement = stmt.on_conflict_do_update(
                index_elements=[UserRow.id],
                set_={column: stmt.excluded[column], "updated_at": stmt.excluded.updated_at},
            )
            _PREFERENCE_UPSERTS[(dialect, column)] = statement
        now = utcnow()
        await self._write(
            statement,
            {"user": user_id, "name": first_name, "value": value,
             "created": now, "updated": now},
        )  # fmt: skip

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

    # --- fair use: access control and listings

    async def access_rules(self) -> list[AccessRule]:
        """Every allowed or blocked id (loaded once at start; the gate keeps them in memory)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(UserAccessRow).where(UserAccessRow.allowed | UserAccessRow.blocked)
            )
            return [_rule(row) for row in rows]

    async def set_access(
        self,
        user_id: int,
        *,
        changed_by: int | None,
        allowed: bool | None = None,
        blocked: bool | None = None,
        reason: str | None = None,
    ) -> tuple[AccessRule, AccessRule | None]:
        """Change what is given (None: unchanged); returns the rule after and before."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            row = await session.get(UserAccessRow, user_id, with_for_update=True)
            before = None if row is None else _rule(row)
            if row is None:
                row = UserAccessRow(user_id=user_id, allowed=False, blocked=False)
                session.add(row)
            if allowed is not None:
                row.allowed = allowed
            if blocked is not None:
                if blocked:
                    row.reason = reason
                    if not row.blocked:
                        row.blocked_at = now
                else:
                    row.reason = row.blocked_at = None
                row.blocked = blocked
            row.changed_by, row.updated_at = changed_by, now
            await session.flush()
            await notify_access_changed(session, user_id)  # sent at commit
            return _rule(row), before

    def _summaries(self, blocked_only: bool) -> Any:  # a Select of the summary columns
        counts = (
            select(GenerationRow.user_id, func.count().label("n"))
            .group_by(GenerationRow.user_id)
            .subquery()
        )
        n = func.coalesce(counts.c.n, 0)
        if blocked_only:
            return (
                select(UserAccessRow.user_id, UserRow.first_name, UserRow.username, n,
                       UserRow.updated_at, UserAccessRow.blocked, UserAccessRow.reason,
                       UserAccessRow.blocked_at)
                .select_from(UserAccessRow)
                .outerjoin(UserRow, UserRow.id == UserAccessRow.user_id)
                .outerjoin(counts, counts.c.user_id == UserAccessRow.user_id)
                .where(UserAccessRow.blocked)
                .order_by(UserAccessRow.blocked_at.desc(), UserAccessRow.user_id)
            )  # fmt: skip
        return (
            select(UserRow.id, UserRow.first_name, UserRow.username, n, UserRow.updated_at,
                   func.coalesce(UserAccessRow.blocked, False), UserAccessRow.reason,
                   UserAccessRow.blocked_at)
            .select_from(UserRow)
            .outerjoin(UserAccessRow, UserAccessRow.user_id == UserRow.id)
            .outerjoin(counts, counts.c.user_id == UserRow.id)
            .order_by(UserRow.updated_at.desc(), UserRow.id)
        )  # fmt: skip

    async def count_user_summaries(self, blocked_only: bool = False) -> int:
        async with self._sessions() as session:
            if blocked_only:
                query = select(func.count()).where(UserAccessRow.blocked)
            else:
                query = select(func.count()).select_from(UserRow)
            return (await session.scalar(query)) or 0

    async def user_summaries(
        self, offset: int, limit: int, blocked_only: bool = False
    ) -> list[UserSummary]:
        """Users, most recently active first (or blocked ones, newest block first)."""
        async with self._sessions() as session:
            rows = await session.execute(self._summaries(blocked_only).offset(offset).limit(limit))
            return [
                UserSummary(
                    user_id=uid, first_name=first, username=username, generations=int(count),
                    last_active=active, blocked=bool(blocked), reason=reason,
                    blocked_at=blocked_at,
                )
                for uid, first, username, count, active, blocked, reason, blocked_at in rows
            ]  # fmt: skip

    async def top_users_since(self, since: datetime, limit: int = 5) -> list[tuple[int, int]]:
        """(user id, generations) of the users with the most generations since ``since``."""
        n = func.count().label("n")
        async with self._sessions() as session:
            rows = await session.execute(
                select(GenerationRow.user_id, n)
                .where(GenerationRow.created_at >= since)
                .group_by(GenerationRow.user_id)
                .order_by(n.desc(), GenerationRow.user_id)
                .limit(limit)
            )
            return [(int(uid), int(count)) for uid, count in rows]


def _rule(row: UserAccessRow) -> AccessRule:
    return from_row(AccessRule, row)
