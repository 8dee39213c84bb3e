"""The users' tables: who they are and what they chose, the admins' access decisions,
and the /write counters that replicas share.

Part of the schema that ``bot.storage.schema`` gathers (see ``bot.storage.tables.base``);
a change here needs a new revision in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.tables.base import Base, UTCDateTime, utcnow


class UserRow(Base):
    __tablename__ = "users"

    # The Telegram user id, so no autoincrement: ids come from Telegram.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    language_code: Mapped[str | None] = mapped_column(String(35))
    # Null means "use the bot's default", so changing the default reaches everyone who never chose.
    temperature: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # characters per reply; null means "the bot's DEFAULT_LENGTH", like temperature.
    length: Mapped[int | None] = mapped_column(Integer)


# --- fair use: access control


class UserAccessRow(Base):
    """Admins' access decisions: the allow list (``ACCESS=allowlist``) and blocks.

    Keyed by Telegram user id and not a foreign key to ``users``: an admin may allow or
    block an id that has never written to the bot, and ``/forget`` must not lift a block.
    """

    __tablename__ = "user_access"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reason: Mapped[str | None] = mapped_column(Text)
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# --- per-user counters shared by replicas


class UserLimitRow(Base):
    """A user's /write counters when several replicas share them (bot/storage/queries/limits.py):
    texts being written, with an expiry so that a replica killed while holding slots
    cannot lock the user out, and the token bucket. Not a foreign key to ``users`` (the
    counters are taken before the user's row exists, and must survive ``/forget``)."""

    __tablename__ = "user_limits"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    pending: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    pending_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tokens: Mapped[float | None] = mapped_column(Float)
    refilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    told_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    told_rate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LimitRefusalRow(Base):
    """Refusals per UTC day and kind, counted by every replica (for /stats)."""

    __tablename__ = "limit_refusals"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
