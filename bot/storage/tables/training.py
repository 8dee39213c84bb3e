"""The models and how they are made: corpora, training runs and their life cycle, model
versions, and the checkpoint and corpus files kept in the database.

Part of the schema that ``bot.storage.schema`` gathers (see ``bot.storage.tables.base``);
a change here needs a new revision in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.tables.base import Base, UTCDateTime, in_values, utcnow


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


class CorpusSource(StrEnum):
    DEFAULT = "default"
    UPLOAD = "upload"
    APPEND = "append"


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


class CorpusRow(Base):
    __tablename__ = "corpora"
    __table_args__ = (CheckConstraint(in_values("source", CorpusSource), name="source"),)

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
        CheckConstraint(in_values("status", TrainingStatus), name="status"),
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
