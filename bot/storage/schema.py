"""The whole database schema, as SQLAlchemy 2 typed ORM models.

The migrations in ``migrations/versions`` are written by hand to match this module;
``tests/test_storage.py`` compares a migrated database with this metadata, so any
change here needs a new revision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Explicit, deterministic constraint names: SQLite batch migrations can only drop or
# recreate constraints they can name, and PostgreSQL would otherwise pick its own names.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no timestamp type and hands back naive datetimes even for
    ``DateTime(timezone=True)``; normalising here keeps ordering and comparisons correct
    and means callers never see a naive value.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # A naive value is ambiguous (local time? UTC?); refusing it catches the bug early.
            raise ValueError("naive datetime given to a UTC timestamp column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class TrainingStatus(StrEnum):
    """Life cycle of a training run: the row is the run's only source of truth.

    ``queued`` -> ``running`` -> ``finishing`` -> ``succeeded``, or from any of the
    three live states to ``failed`` / ``cancelled``. Each transition is one committed
    write guarded by the expected previous state, and at most one run is live at a time
    (the ``live`` column and its unique index).

    - ``queued``: recorded, trainer not started yet;
    - ``running``: the trainer (a child process) is training;
    - ``finishing``: training ended and wrote its checkpoint; the steps after it
      (judge, register the version, activate, swap) are being done, idempotently;
    - ``succeeded``: a model version was registered (``model_version_id`` set), active
      or held for an admin's decision;
    - ``failed``: an error stopped it (``error`` says why in one line);
    - ``cancelled``: an admin (or a stop of the bot) stopped it before it finished;
    - ``rejected``: written only by earlier versions of the bot; kept for old rows.
    """

    QUEUED = "queued"
    RUNNING = "running"
    FINISHING = "finishing"
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


LIVE_STATUSES: frozenset[TrainingStatus] = frozenset(
    {TrainingStatus.QUEUED, TrainingStatus.RUNNING, TrainingStatus.FINISHING}
)


# The one spelling of the CHECK, shared with migration 0004.
LIVE_CHECK = "(status IN ('queued', 'running', 'finishing')) = (live IS NOT NULL)"


class GenerationSource(StrEnum):
    """What asked for a generation: the /write command, a button under an
    earlier text (again / colder / hotter / continue), or an inline query."""

    COMMAND = "command"
    BUTTON = "button"
    INLINE = "inline"


class CorpusSource(StrEnum):
    DEFAULT = "default"
    UPLOAD = "upload"
    APPEND = "append"


def _in_values(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


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


class ModelVersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        # Backs up the repository's "at most one active version" rule against races.
        # Both SQLite (3.8+) and PostgreSQL support partial indexes with this syntax.
        Index(
            "uq_model_versions_one_active",
            "is_active",
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkpoint_path: Mapped[str] = mapped_column(Text)
    checkpoint_sha256: Mapped[str] = mapped_column(String(64))
    corpus_sha256: Mapped[str] = mapped_column(String(64))
    corpus_chars: Mapped[int] = mapped_column(Integer)
    vocab_size: Mapped[int] = mapped_column(Integer)
    steps: Mapped[int] = mapped_column(Integer)
    train_loss: Mapped[float | None] = mapped_column(Float)
    val_loss: Mapped[float | None] = mapped_column(Float)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    corpus_id: Mapped[int | None] = mapped_column(
        ForeignKey("corpora.id", ondelete="SET NULL"), index=True
    )
    # Retention (bot/training/cleanup.py): a pinned version is never pruned; a pruned
    # one keeps its row (generations and runs still name it) but its file and blob are gone.
    # Server defaults only: a Python default would put the column into inserts made at
    # older revisions (the migration tests write rows with these models before 0011).
    pinned: Mapped[bool] = mapped_column(Boolean, server_default=false())
    pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GenerationRow(Base):
    __tablename__ = "generations"
    __table_args__ = (
        CheckConstraint(_in_values("source", GenerationSource), name="source"),
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


class CorpusRow(Base):
    __tablename__ = "corpora"
    __table_args__ = (CheckConstraint(_in_values("source", CorpusSource), name="source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    # Unique: the same text uploaded twice at once is one corpus, by upsert.
    sha256: Mapped[str] = mapped_column(String(64), index=True, unique=True)
    chars: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))
    uploaded_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrainingRunRow(Base):
    __tablename__ = "training_runs"
    __table_args__ = (
        CheckConstraint(_in_values("status", TrainingStatus), name="status"),
        # "One training at a time", enforced by the database so two concurrent starts
        # cannot both pass the repository's check: ``live`` is TRUE exactly while the run
        # is queued, running or finishing (this CHECK), NULL afterwards, and unique (NULLs
        # are distinct in both SQLite and PostgreSQL).
        CheckConstraint(LIVE_CHECK, name="live"),
        Index("uq_training_runs_live", "live", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_by: Mapped[int | None] = mapped_column(BigInteger)
    corpus_id: Mapped[int] = mapped_column(ForeignKey("corpora.id"))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    # sha256 of the corpus hash plus the canonical settings JSON: equal keys mean the same
    # training would be repeated, which the bot can refuse.
    settings_key: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    final_train_loss: Mapped[float | None] = mapped_column(Float)
    final_val_loss: Mapped[float | None] = mapped_column(Float)
    # everything a restart (or another process) needs to carry a run on.
    live: Mapped[bool | None] = mapped_column(Boolean)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # where the outcome goes
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)  # the progress message
    checkpoint_path: Mapped[str | None] = mapped_column(Text)  # the file the trainer writes
    checkpoint_sha256: Mapped[str | None] = mapped_column(String(64))  # set at "finishing"
    # Set when the admin was told the outcome, so a retry or a restart never tells twice.
    outcome_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # --- who drives the run, until when, and its progress for other processes.
    # ``owner`` names the process training (or finishing) it; it renews
    # ``lease_expires_at`` while alive, and only a run whose lease expired is failed by
    # someone else. A queued run nobody took has a lease too: how long it may wait.
    owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # {"last": the latest progress event, "history": [...], "verdict": {...}}: what a bot
    # replica needs to edit the status message and draw the loss curve.
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The one bot replica that edits the admin's status message, and until when.
    editor: Mapped[str | None] = mapped_column(String(255))
    editor_lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


metadata = Base.metadata


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


# --- model files in the database


class BlobRow(Base):
    """A checkpoint or corpus file, content-addressed: the key is the SHA-256 of ``data``.

    Every process keeps a local cache of the files it needs (CHECKPOINT_DIR, CORPUS_DIR)
    and fetches a missing or damaged one from here, so no two hosts share a disk.
    """

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- scale-out: replica heartbeats and per-user counters shared by replicas


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


class UserLimitRow(Base):
    """A user's /write counters when several replicas share them (bot/cluster/counters.py):
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
