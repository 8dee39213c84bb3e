"""Corpora and training runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.records import (
    Corpus,
    CorpusNotFoundError,
    TrainingAlreadyRunningError,
    TrainingRun,
    TrainingRunNotFoundError,
    TrainingRunStateError,
    _corpus,
    _training_run,
)
from bot.storage.schema import (
    CorpusRow,
    CorpusSource,
    TrainingRunRow,
    TrainingStatus,
    utcnow,
)
from bot.storage.session import (
    Queries,
)


class TrainingQueries(Queries):
    """Corpora and training runs."""

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
