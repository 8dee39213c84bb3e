"""What users asked for and got: the inbox of Telegram updates, and the generations
written for them.

Part of the schema that ``bot.storage.schema`` gathers (see ``bot.storage.tables.base``);
a change here needs a new revision in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.tables.base import Base, UTCDateTime, in_values, utcnow


class GenerationSource(StrEnum):
    """What asked for a generation: the /write command, a button under an
    earlier text (again / colder / hotter / continue), or an inline query."""

    COMMAND = "command"
    BUTTON = "button"
    INLINE = "inline"


class GenerationRow(Base):
    __tablename__ = "generations"
    __table_args__ = (
        CheckConstraint(in_values("source", GenerationSource), name="source"),
        # SQLite: an id is never handed out again, even after its row was deleted (/forget),
        # so a button under a forgotten text can never act on a newer one.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    seed: Mapped[str] = mapped_column(Text)
    temperature: Mapped[float] = mapped_column(Float)
    length: Mapped[int] = mapped_column(Integer)
    output: Mapped[str] = mapped_column(Text)
    # The seed characters the model's vocabulary did not know and that were left out.
    dropped_chars: Mapped[str | None] = mapped_column(Text)
    # SET NULL rather than CASCADE: pruning old checkpoints must not erase users' history.
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), index=True
    )
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # whether Telegram confirmed every part of the reply. Stored False before
    # sending and set True after, so a crash or a failed send in between reads as "not
    # delivered", never as a delivery that did not happen.
    delivered: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # --- where the request came from, and the generation a button was pressed
    # under (no foreign key: a parent is only ever deleted with its children, by /forget
    # of the same user, and provenance must not block or cascade anything).
    # Server default only (as ``delivered``): earlier revisions' inserts must not name it.
    source: Mapped[str] = mapped_column(String(16), server_default="command")
    parent_id: Mapped[int | None] = mapped_column(Integer)
    # The Telegram update that asked for it (none for inline offers): a process taking
    # over that update from a dead one sends this row instead of writing another text.
    update_id: Mapped[int | None] = mapped_column(BigInteger, index=True)


class UpdateRow(Base):
    """The inbox: every Telegram update, recorded before Telegram is told it arrived.

    ``update_id`` is the primary key, so a redelivered update is not recorded twice. A
    process claims a row (``claimed_by`` until ``claimed_until``, renewed while it works)
    and sets ``done_at`` once the update's outcome is stored; a claim that runs out (its
    process died) is taken over. Done rows are pruned after a retention period
    (bot/telegram/inbox.py).
    """

    __tablename__ = "updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[str] = mapped_column(Text)  # the update's JSON, as Telegram sent it
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # When a message answering this update was handed to Telegram with no answer recorded
    # yet (cleared when Telegram refused it). A process taking the update over treats it
    # as sent: it may have reached the user, so it is neither sent again nor redone.
    reply_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
