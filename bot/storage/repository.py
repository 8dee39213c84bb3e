"""The bot's queries, one session (one transaction) per method.

Methods return frozen dataclasses rather than ORM objects, so callers can keep and
pass them around after the session is gone without lazy-loading surprises.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self, cast

from sqlalchemy import ColumnElement, CursorResult, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.database import create_engine, create_session_maker, migrate_to_head
from bot.storage.schema import (
    CorpusRow,
    CorpusSource,
    GenerationRow,
    ModelVersionRow,
    TrainingRunRow,
    TrainingStatus,
    UserRow,
    utcnow,
)

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

    @property
    def finished(self) -> bool:
        return self.status is not TrainingStatus.RUNNING


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        username=row.username,
        language_code=row.language_code,
        temperature=row.temperature,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _generation(row: GenerationRow) -> Generation:
    return Generation(
        id=row.id,
        user_id=row.user_id,
        chat_id=row.chat_id,
        seed=row.seed,
        temperature=row.temperature,
        length=row.length,
        output=row.output,
        dropped_chars=row.dropped_chars,
        model_version_id=row.model_version_id,
        latency_ms=row.latency_ms,
        created_at=row.created_at,
    )


def _model_version(row: ModelVersionRow) -> ModelVersion:
    return ModelVersion(
        id=row.id,
        checkpoint_path=row.checkpoint_path,
        checkpoint_sha256=row.checkpoint_sha256,
        corpus_sha256=row.corpus_sha256,
        corpus_chars=row.corpus_chars,
        vocab_size=row.vocab_size,
        steps=row.steps,
        train_loss=row.train_loss,
        val_loss=row.val_loss,
        is_active=row.is_active,
        created_at=row.created_at,
        note=row.note,
        corpus_id=row.corpus_id,
    )


def _corpus(row: CorpusRow) -> Corpus:
    return Corpus(
        id=row.id,
        path=row.path,
        sha256=row.sha256,
        chars=row.chars,
        size_bytes=row.size_bytes,
        source=CorpusSource(row.source),
        uploaded_by=row.uploaded_by,
        created_at=row.created_at,
    )


def _training_run(row: TrainingRunRow) -> TrainingRun:
    return TrainingRun(
        id=row.id,
        started_by=row.started_by,
        corpus_id=row.corpus_id,
        settings=dict(row.settings),
        settings_key=row.settings_key,
        status=TrainingStatus(row.status),
        error=row.error,
        model_version_id=row.model_version_id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        final_train_loss=row.final_train_loss,
        final_val_loss=row.final_val_loss,
    )


# --------------------------------------------------------------------------- helpers


def make_settings_key(corpus_sha256: str, settings: Mapping[str, Any]) -> str:
    """The ``settings_key`` of a training: equal keys mean an identical training.

    Canonical JSON (sorted keys, no whitespace) so that dict order and formatting
    cannot make two identical trainings look different.
    """
    canonical = json.dumps(dict(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{corpus_sha256}\n{canonical}".encode()).hexdigest()


def percentile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    rank = (len(sorted_values) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def _require_aware(value: datetime | None, name: str) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")


def _upsert_insert(session: AsyncSession) -> Any:
    """The dialect's INSERT construct, which has ``on_conflict_do_update``."""
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite.insert
    if name == "postgresql":
        return postgresql.insert
    raise StorageError(f"unsupported database dialect {name!r}; use SQLite or PostgreSQL")


def _generation_filters(
    user_id: int | None, model_version_id: int | None, since: datetime | None
) -> list[ColumnElement[bool]]:
    _require_aware(since, "since")
    filters: list[ColumnElement[bool]] = []
    if user_id is not None:
        filters.append(GenerationRow.user_id == user_id)
    if model_version_id is not None:
        filters.append(GenerationRow.model_version_id == model_version_id)
    if since is not None:
        filters.append(GenerationRow.created_at >= since)
    return filters


# --------------------------------------------------------------------------- storage


class Storage:
    """The bot's database, behind async methods that each run one transaction."""

    def __init__(
        self,
        session_maker: async_sessionmaker[AsyncSession],
        *,
        engine: AsyncEngine | None = None,
    ) -> None:
        """``engine``, if given, is owned by this Storage and disposed by :meth:`close`."""
        self._sessions = session_maker
        self._engine = engine

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
        if self._engine is not None:
            await self._engine.dispose()

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

    # ------------------------------------------------------------------ generations

    async def add_generation(
        self,
        user_id: int,
        chat_id: int,
        seed: str,
        temperature: float,
        length: int,
        output: str,
        model_version_id: int | None,
        latency_ms: float,
        dropped_chars: str | None = None,
    ) -> int:
        """Record one answered generation and return its id.

        Raises UserNotFoundError / ModelVersionNotFoundError if the user or version
        does not exist.
        """
        row = GenerationRow(
            user_id=user_id,
            chat_id=chat_id,
            seed=seed,
            temperature=temperature,
            length=length,
            output=output,
            dropped_chars=dropped_chars,
            model_version_id=model_version_id,
            latency_ms=latency_ms,
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(row)
                await session.flush()
                return row.id
        except IntegrityError:
            # Name the missing parent instead of surfacing a driver-specific message.
            async with self._sessions() as session:
                if await session.get(UserRow, user_id) is None:
                    raise UserNotFoundError(user_id) from None
                if (
                    model_version_id is not None
                    and await session.get(ModelVersionRow, model_version_id) is None
                ):
                    raise ModelVersionNotFoundError(model_version_id) from None
            raise

    async def user_history(self, user_id: int, limit: int = 10) -> list[Generation]:
        """The user's latest generations, newest first."""
        return await self.list_generations(offset=0, limit=limit, user_id=user_id)

    async def list_generations(
        self,
        offset: int = 0,
        limit: int = 50,
        user_id: int | None = None,
        model_version_id: int | None = None,
        since: datetime | None = None,
    ) -> list[Generation]:
        """One page of generations, newest first, optionally filtered."""
        filters = _generation_filters(user_id, model_version_id, since)
        stmt = (
            select(GenerationRow)
            .where(*filters)
            # id breaks ties between rows written within the clock's resolution.
            .order_by(GenerationRow.created_at.desc(), GenerationRow.id.desc())
        )
        async with self._sessions() as session:
            rows = await session.scalars(stmt.offset(offset).limit(limit))
            return [_generation(row) for row in rows]

    async def count_generations(
        self,
        user_id: int | None = None,
        model_version_id: int | None = None,
        since: datetime | None = None,
    ) -> int:
        filters = _generation_filters(user_id, model_version_id, since)
        stmt = select(func.count()).select_from(GenerationRow).where(*filters)
        async with self._sessions() as session:
            return (await session.scalar(stmt)) or 0

    async def iter_generations(
        self,
        user_id: int | None = None,
        model_version_id: int | None = None,
        *,
        since: datetime | None = None,
        chunk_size: int = 500,
    ) -> AsyncIterator[Generation]:
        """Every matching generation, oldest first (by id), fetched ``chunk_size`` at a time.

        Keyset pagination with a short session per chunk: an export of any size never
        holds a transaction open while the caller writes the CSV.
        """
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        filters = _generation_filters(user_id, model_version_id, since)
        after = 0
        while True:
            stmt = (
                select(GenerationRow)
                .where(*filters, GenerationRow.id > after)
                .order_by(GenerationRow.id)
                .limit(chunk_size)
            )
            async with self._sessions() as session:
                chunk = [_generation(row) for row in await session.scalars(stmt)]
            for generation in chunk:
                yield generation
            if len(chunk) < chunk_size:
                return
            after = chunk[-1].id

    async def latency_percentiles(
        self, since: datetime, percentiles: Iterable[float] = (50, 95)
    ) -> dict[int, float] | None:
        """Latency percentiles (ms) of generations since ``since``; None if there were none.

        Computed in Python so that SQLite (which has no percentile function) and
        PostgreSQL give identical answers; the windows used by /stats are small.
        Keys are the requested percentiles as ints (50, 95, ...).
        """
        wanted = list(percentiles)
        for p in wanted:
            if not 0 <= p <= 100:
                raise ValueError(f"percentile out of range: {p!r}")
        filters = _generation_filters(None, None, since)
        async with self._sessions() as session:
            values = sorted(
                (await session.scalars(select(GenerationRow.latency_ms).where(*filters))).all()
            )
        if not values:
            return None
        return {int(p): percentile(values, p) for p in wanted}

    # --------------------------------------------------------------- model versions

    async def register_model_version(
        self,
        *,
        checkpoint_path: str,
        checkpoint_sha256: str,
        corpus_sha256: str,
        corpus_chars: int,
        vocab_size: int,
        steps: int,
        train_loss: float | None = None,
        val_loss: float | None = None,
        note: str | None = None,
        corpus_id: int | None = None,
        activate: bool = False,
    ) -> ModelVersion:
        """Record a trained checkpoint; with ``activate``, it becomes the only active one."""
        async with self._sessions() as session, session.begin():
            if activate:
                # Before the insert: the partial unique index allows one active row at a time.
                await session.execute(
                    update(ModelVersionRow)
                    .where(ModelVersionRow.is_active.is_(True))
                    .values(is_active=False)
                )
            row = ModelVersionRow(
                checkpoint_path=checkpoint_path,
                checkpoint_sha256=checkpoint_sha256,
                corpus_sha256=corpus_sha256,
                corpus_chars=corpus_chars,
                vocab_size=vocab_size,
                steps=steps,
                train_loss=train_loss,
                val_loss=val_loss,
                is_active=activate,
                note=note,
                corpus_id=corpus_id,
            )
            session.add(row)
            await session.flush()
            return _model_version(row)

    async def activate_model_version(self, version_id: int) -> ModelVersion:
        """Make ``version_id`` the active version and deactivate the rest, atomically."""
        async with self._sessions() as session, session.begin():
            row = await session.get(ModelVersionRow, version_id)
            if row is None:
                raise ModelVersionNotFoundError(version_id)
            await session.execute(
                update(ModelVersionRow)
                .where(ModelVersionRow.is_active.is_(True), ModelVersionRow.id != version_id)
                .values(is_active=False)
            )
            row.is_active = True
            await session.flush()
            return _model_version(row)

    async def active_model_version(self) -> ModelVersion | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(ModelVersionRow).where(ModelVersionRow.is_active.is_(True))
            )
            return None if row is None else _model_version(row)

    async def get_model_version(self, version_id: int) -> ModelVersion | None:
        async with self._sessions() as session:
            row = await session.get(ModelVersionRow, version_id)
            return None if row is None else _model_version(row)

    async def list_model_versions(self, limit: int | None = None) -> list[ModelVersion]:
        """Model versions, newest first."""
        stmt = select(ModelVersionRow).order_by(ModelVersionRow.id.desc()).limit(limit)
        async with self._sessions() as session:
            return [_model_version(row) for row in await session.scalars(stmt)]

    async def discard_model_version(self, version_id: int) -> ModelVersion:
        """Delete an inactive version's row and return it (so the caller can delete the file).

        Generations and training runs keep existing, unlinked from the version. Raises
        ModelVersionNotFoundError, or ModelVersionActiveError for the active version.
        """
        async with self._sessions() as session, session.begin():
            row = await session.get(ModelVersionRow, version_id, with_for_update=True)
            if row is None:
                raise ModelVersionNotFoundError(version_id)
            if row.is_active:
                raise ModelVersionActiveError(version_id)
            discarded = _model_version(row)
            # Done here as well as by ON DELETE SET NULL, so that history survives even
            # on a SQLite connection opened without the foreign_keys pragma.
            for table in (GenerationRow, TrainingRunRow):
                await session.execute(
                    update(table)
                    .where(table.model_version_id == version_id)
                    .values(model_version_id=None)
                )
            await session.delete(row)
            return discarded

    # ---------------------------------------------------------------------- corpora

    async def add_corpus(
        self,
        *,
        path: str,
        sha256: str,
        chars: int,
        size_bytes: int,
        source: CorpusSource | str,
        uploaded_by: int | None = None,
    ) -> Corpus:
        row = CorpusRow(
            path=path,
            sha256=sha256,
            chars=chars,
            size_bytes=size_bytes,
            # Validated here for a clear ValueError; the CHECK constraint is the backstop.
            source=CorpusSource(source).value,
            uploaded_by=uploaded_by,
        )
        async with self._sessions() as session, session.begin():
            session.add(row)
            await session.flush()
            return _corpus(row)

    async def get_corpus(self, corpus_id: int) -> Corpus | None:
        async with self._sessions() as session:
            row = await session.get(CorpusRow, corpus_id)
            return None if row is None else _corpus(row)

    async def find_corpus_by_sha(self, sha256: str) -> Corpus | None:
        """The newest corpus with this content hash."""
        stmt = (
            select(CorpusRow)
            .where(CorpusRow.sha256 == sha256)
            .order_by(CorpusRow.id.desc())
            .limit(1)
        )
        async with self._sessions() as session:
            row = await session.scalar(stmt)
            return None if row is None else _corpus(row)

    async def latest_corpus(self) -> Corpus | None:
        async with self._sessions() as session:
            row = await session.scalar(select(CorpusRow).order_by(CorpusRow.id.desc()).limit(1))
            return None if row is None else _corpus(row)

    # ---------------------------------------------------------------- training runs

    async def start_training_run(
        self,
        started_by: int | None,
        corpus_id: int,
        settings: Mapping[str, Any],
        settings_key: str,
    ) -> int:
        """Record a new ``running`` run and return its id.

        Raises TrainingAlreadyRunningError if a run is already running (checked here
        and, against races, by a partial unique index) and CorpusNotFoundError.
        """
        try:
            async with self._sessions() as session, session.begin():
                if await session.get(CorpusRow, corpus_id) is None:
                    raise CorpusNotFoundError(corpus_id)
                running = await session.scalar(
                    select(TrainingRunRow.id).where(
                        TrainingRunRow.status == TrainingStatus.RUNNING.value
                    )
                )
                if running is not None:
                    raise TrainingAlreadyRunningError(running)
                row = TrainingRunRow(
                    started_by=started_by,
                    corpus_id=corpus_id,
                    settings=dict(settings),
                    settings_key=settings_key,
                    status=TrainingStatus.RUNNING.value,
                )
                session.add(row)
                await session.flush()
                return row.id
        except IntegrityError:
            current = await self.running_training_run()
            if current is not None:
                raise TrainingAlreadyRunningError(current.id) from None
            raise

    async def finish_training_run(
        self,
        run_id: int,
        status: TrainingStatus | str,
        error: str | None = None,
        model_version_id: int | None = None,
        final_train_loss: float | None = None,
        final_val_loss: float | None = None,
    ) -> TrainingRun:
        """Move a ``running`` run to a final status.

        Raises TrainingRunStateError if the run has already finished (for example it
        was marked failed by :meth:`fail_orphaned_runs`), TrainingRunNotFoundError if
        it does not exist, and ValueError for a non-final status.
        """
        final = TrainingStatus(status)
        if final is TrainingStatus.RUNNING:
            raise ValueError("a run cannot be finished as 'running'")
        async with self._sessions() as session, session.begin():
            row = await session.get(TrainingRunRow, run_id, with_for_update=True)
            if row is None:
                raise TrainingRunNotFoundError(run_id)
            if row.status != TrainingStatus.RUNNING.value:
                raise TrainingRunStateError(
                    f"training run {run_id} already finished as {row.status!r}"
                )
            row.status = final.value
            row.error = error
            row.model_version_id = model_version_id
            row.final_train_loss = final_train_loss
            row.final_val_loss = final_val_loss
            row.finished_at = utcnow()
            await session.flush()
            return _training_run(row)

    async def set_run_status(
        self, run_id: int, status: TrainingStatus | str, error: str | None = None
    ) -> TrainingRun:
        """Change a run's final status, e.g. reclassify ``succeeded`` as ``rejected``.

        Unlike :meth:`finish_training_run` it also accepts finished runs; it refuses
        ``running``, which only :meth:`start_training_run` may set. ``error`` replaces
        the stored error when given.
        """
        new = TrainingStatus(status)
        if new is TrainingStatus.RUNNING:
            raise ValueError("use start_training_run to start a run")
        async with self._sessions() as session, session.begin():
            row = await session.get(TrainingRunRow, run_id, with_for_update=True)
            if row is None:
                raise TrainingRunNotFoundError(run_id)
            row.status = new.value
            if error is not None:
                row.error = error
            if row.finished_at is None:
                row.finished_at = utcnow()
            await session.flush()
            return _training_run(row)

    async def running_training_run(self) -> TrainingRun | None:
        stmt = select(TrainingRunRow).where(TrainingRunRow.status == TrainingStatus.RUNNING.value)
        async with self._sessions() as session:
            row = await session.scalar(stmt)
            return None if row is None else _training_run(row)

    async def get_training_run(self, run_id: int) -> TrainingRun | None:
        async with self._sessions() as session:
            row = await session.get(TrainingRunRow, run_id)
            return None if row is None else _training_run(row)

    async def list_training_runs(self, limit: int = 20) -> list[TrainingRun]:
        """The latest runs, newest first."""
        stmt = select(TrainingRunRow).order_by(TrainingRunRow.id.desc()).limit(limit)
        async with self._sessions() as session:
            return [_training_run(row) for row in await session.scalars(stmt)]

    async def find_successful_run(self, settings_key: str) -> TrainingRun | None:
        """The latest ``succeeded`` run with these settings, if that training was done."""
        stmt = (
            select(TrainingRunRow)
            .where(
                TrainingRunRow.settings_key == settings_key,
                TrainingRunRow.status == TrainingStatus.SUCCEEDED.value,
            )
            .order_by(TrainingRunRow.id.desc())
            .limit(1)
        )
        async with self._sessions() as session:
            row = await session.scalar(stmt)
            return None if row is None else _training_run(row)

    async def fail_orphaned_runs(self, reason: str) -> int:
        """Mark every ``running`` run as failed; return how many.

        Called at start-up: training runs in-process, so a run still ``running`` then
        belongs to a process that died and would otherwise block training forever.
        """
        stmt = (
            update(TrainingRunRow)
            .where(TrainingRunRow.status == TrainingStatus.RUNNING.value)
            .values(status=TrainingStatus.FAILED.value, error=reason, finished_at=utcnow())
        )
        async with self._sessions() as session, session.begin():
            result = cast(CursorResult[Any], await session.execute(stmt))
            return result.rowcount
