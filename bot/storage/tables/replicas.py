"""The processes sharing one database: replica and trainer heartbeats, and the schema
revisions that running code can serve.

Part of the schema that ``bot.storage.schema`` gathers (see ``bot.storage.tables.base``);
a change here needs a new revision in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.tables.base import Base, UTCDateTime


class ReplicaRow(Base):
    """One live bot process (replica, ``role = 'bot'``) or trainer (``'trainer'``): which
    model version it serves, and when it was last heard of. Rows of processes that stopped
    refreshing age out (bot/cluster/heartbeat.py); a silent trainer is dead.

    ``model_version_id`` is deliberately not a foreign key: a version discarded while a
    replica still reports it must not make the heartbeat fail.
    """

    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    model_version_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # "bot" (a replica, listed by /models) or "trainer" (whose silence fails its run).
    role: Mapped[str] = mapped_column(String(16), server_default="bot")
    # How often this process beats: it is dead once unheard of for a few of its own
    # intervals, whatever the reader's settings (null: rows of earlier releases).
    beat_s: Mapped[float | None] = mapped_column(Float)


class SchemaCompatRow(Base):
    """The revisions whose code can serve the schema as it is (bot/storage/compat.py):
    a replica one release behind reads this instead of refusing a newer database."""

    __tablename__ = "schema_compat"

    revision: Mapped[str] = mapped_column(String(32), primary_key=True)
