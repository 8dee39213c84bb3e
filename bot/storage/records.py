"""What the storage layer returns and raises: frozen records (never ORM objects, so callers
can keep them after the session is gone) and its own errors."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from bot.storage.schema import (
    LIVE_STATUSES,
    CorpusRow,
    CorpusSource,
    GenerationRow,
    ModelVersionRow,
    TrainingRunRow,
    TrainingStatus,
    UserRow,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from sqlalchemy import Row

R = TypeVar("R", bound="DataclassInstance")

# ---------------------------------------------------------------------------- errors


class StorageError(Exception):
    """Base class for the storage layer's own errors."""


class NotFoundError(StorageError, LookupError):
    """A row the operation needs does not exist."""


class UserNotFoundError(NotFoundError):
    def __init__(self, user_id: int) -> None:
        super().__init__(f"user {user_id} does not exist (call upsert_user first)")
        self.user_id = user_id


class ModelVersionNotFoundError(NotFoundError):
    def __init__(self, version_id: int) -> None:
        super().__init__(f"model version {version_id} does not exist")
        self.version_id = version_id


class CorpusNotFoundError(NotFoundError):
    def __init__(self, corpus_id: int) -> None:
        super().__init__(f"corpus {corpus_id} does not exist")
        self.corpus_id = corpus_id


class TrainingRunNotFoundError(NotFoundError):
    def __init__(self, run_id: int) -> None:
        super().__init__(f"training run {run_id} does not exist")
        self.run_id = run_id


class ModelVersionActiveError(StorageError, ValueError):
    def __init__(self, version_id: int) -> None:
        super().__init__(f"model version {version_id} is active and cannot be discarded")
        self.version_id = version_id


class ModelVersionPrunedError(StorageError, LookupError):
    """The version's row is kept (texts name it) but its file was pruned: it cannot be
    activated or pinned any more."""

    def __init__(self, version_id: int) -> None:
        super().__init__(f"model version {version_id} was pruned: its file is gone")
        self.version_id = version_id


class TrainingAlreadyRunningError(StorageError):
    """Only one training run may be ``running`` at a time."""

    def __init__(self, run_id: int | None) -> None:
        which = "another run" if run_id is None else f"run {run_id}"
        super().__init__(f"{which} is already training; one training at a time")
        self.run_id = run_id


class TrainingRunStateError(StorageError):
    """The run is not in a state that allows the requested change."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class User:
    id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None
    temperature: float | None
    created_at: datetime
    updated_at: datetime
    length: int | None = None  # None means the bot's DEFAULT_LENGTH


@dataclass(frozen=True, slots=True)
class Generation:
    id: int
    user_id: int
    chat_id: int
    seed: str
    temperature: float
    length: int
    output: str
    dropped_chars: str | None
    model_version_id: int | None
    latency_ms: float
    created_at: datetime
    delivered: bool = True
    source: str = "command"  # command, button or inline (GenerationSource)
    parent_id: int | None = None  # the generation a button was pressed under
    update_id: int | None = None  # the Telegram update that asked for it


@dataclass(frozen=True, slots=True)
class ModelVersion:
    id: int
    checkpoint_path: str
    checkpoint_sha256: str
    corpus_sha256: str
    corpus_chars: int
    vocab_size: int
    steps: int
    train_loss: float | None
    val_loss: float | None
    is_active: bool
    created_at: datetime
    note: str | None
    corpus_id: int | None
    pinned: bool = False  # kept whatever the retention (/pin)
    pruned_at: datetime | None = None  # its file and blob were deleted by the retention


@dataclass(frozen=True, slots=True)
class Corpus:
    id: int
    path: str
    sha256: str
    chars: int
    size_bytes: int
    source: CorpusSource
    uploaded_by: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TrainingRun:
    id: int
    started_by: int | None
    corpus_id: int
    settings: dict[str, Any]
    settings_key: str
    status: TrainingStatus
    error: str | None
    model_version_id: int | None
    started_at: datetime
    finished_at: datetime | None
    final_train_loss: float | None
    final_val_loss: float | None
    # where the outcome goes, the run's checkpoint, whether the admin was told.
    chat_id: int | None = None
    status_message_id: int | None = None
    checkpoint_path: str | None = None
    checkpoint_sha256: str | None = None
    outcome_sent_at: datetime | None = None
    # the driving process and its lease; progress for other processes.
    owner: str | None = None
    lease_expires_at: datetime | None = None
    progress: dict[str, Any] | None = None
    editor: str | None = None

    @property
    def finished(self) -> bool:
        return self.status not in LIVE_STATUSES


def from_row(record: type[R], row: object, **converted: Any) -> R:
    """``record`` with each field read from ``row``'s attribute of the same name, but for
    those in ``converted`` (an enum from its column's string, a copy of a JSON dict):
    the records mirror their tables, so a field added to both needs no line here."""
    names = [f.name for f in fields(record) if f.name not in converted]
    return record(**{name: getattr(row, name) for name in names}, **converted)


def _user(row: UserRow | Row[Any]) -> User:
    return from_row(User, row)


def _generation(row: GenerationRow | Row[Any]) -> Generation:
    return from_row(Generation, row)


def _model_version(row: ModelVersionRow) -> ModelVersion:
    return from_row(ModelVersion, row, pinned=bool(row.pinned))


def _corpus(row: CorpusRow) -> Corpus:
    return from_row(Corpus, row, source=CorpusSource(row.source))


def _training_run(row: TrainingRunRow) -> TrainingRun:
    return from_row(
        TrainingRun,
        row,
        settings=dict(row.settings),
        status=TrainingStatus(row.status),
        progress=None if row.progress is None else dict(row.progress),
    )


# --- fair use: access control


@dataclass(frozen=True, slots=True)
class AccessRule:
    """An admin's decision about one user id: on the allow list, blocked, or both."""

    user_id: int
    allowed: bool
    blocked: bool
    reason: str | None
    blocked_at: datetime | None


@dataclass(frozen=True, slots=True)
class UserSummary:
    """One line of /users: who, how much they used the bot, and whether they are blocked."""

    user_id: int
    first_name: str | None  # None: blocked before ever writing to the bot
    username: str | None
    generations: int
    last_active: datetime | None
    blocked: bool
    reason: str | None
    blocked_at: datetime | None


# --- scale-out: replicas


@dataclass(frozen=True, slots=True)
class Replica:
    """One bot process's heartbeat row: where it runs and which version it serves."""

    id: str
    host: str
    pid: int
    model_version_id: int | None
    started_at: datetime
    last_seen_at: datetime
