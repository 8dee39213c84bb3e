"""Training runs.

A training run's row is its only source of truth (see ``TrainingStatus``): every change
of state is one committed ``UPDATE ... WHERE status IN (expected)``, so of two racing
writers (a cancel and the trainer's own "finished", a restart and a late trainer) exactly
one wins and the other learns it lost from the row count, never by overwriting.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from bot import metrics
from bot.storage.records import (
    CorpusNotFoundError,
    TrainingAlreadyRunningError,
    TrainingRun,
    TrainingRunNotFoundError,
    TrainingRunStateError,
    _training_run,
)
from bot.storage.schema import (
    LIVE_STATUSES,
    CorpusRow,
    ModelVersionRow,
    TrainingRunRow,
    TrainingStatus,
    utcnow,
)
from bot.storage.session import Queries

FINAL_STATUSES: frozenset[TrainingStatus] = frozenset(set(TrainingStatus) - LIVE_STATUSES)


def _values(statuses: Collection[TrainingStatus | str]) -> list[str]:
    return [TrainingStatus(s).value for s in statuses]


class TrainingQueries(Queries):
    """Training runs."""

    # ---------------------------------------------------------------- training runs

    async def queue_training_run(
        self,
        started_by: int | None,
        corpus_id: int,
        settings: Mapping[str, Any],
        settings_key: str,
        *,
        chat_id: int | None = None,
        status_message_id: int | None = None,
        checkpoint_dir: str | None = None,
        status: TrainingStatus = TrainingStatus.QUEUED,
        owner: str | None = None,
        lease_s: float | None = None,
    ) -> TrainingRun:
        """Record a new live run (``queued`` unless told otherwise) and return it.

        ``checkpoint_dir``: the run's checkpoint will be ``<dir>/run-<id>.pt``, recorded
        in the same transaction so no file of this run is ever unaccounted for.
        Raises TrainingAlreadyRunningError if a run is live (checked here and, against
        races, by the unique index on ``live``) and CorpusNotFoundError.
        """
        if TrainingStatus(status) not in LIVE_STATUSES:
            raise ValueError("a new run must be live")
        try:
            async with self._sessions() as session, session.begin():
                if await session.get(CorpusRow, corpus_id) is None:
                    raise CorpusNotFoundError(corpus_id)
                live = await session.scalar(
                    select(TrainingRunRow.id).where(TrainingRunRow.live.is_not(None))
                )
                if live is not None:
                    raise TrainingAlreadyRunningError(live)
                row = TrainingRunRow(
                    started_by=started_by,
                    corpus_id=corpus_id,
                    settings=dict(settings),
                    settings_key=settings_key,
                    status=TrainingStatus(status).value,
                    live=True,
                    chat_id=chat_id,
                    status_message_id=status_message_id,
                    owner=owner,
                    lease_expires_at=None if lease_s is None else _after(lease_s),
                )
                session.add(row)
                await session.flush()
                if checkpoint_dir is not None:
                    row.checkpoint_path = f"{checkpoint_dir.rstrip('/')}/run-{row.id}.pt"
                    await session.flush()
                created = _training_run(row)
            metrics.TRAINING_RUNS.labels(TrainingStatus(status).value).inc()  # committed
            return created
        except IntegrityError:
            current = await self.live_training_run()
            if current is not None:
                raise TrainingAlreadyRunningError(current.id) from None
            raise

    async def start_training_run(
        self,
        started_by: int | None,
        corpus_id: int,
        settings: Mapping[str, Any],
        settings_key: str,
    ) -> int:
        """Record a new ``running`` run and return its id (see :meth:`queue_training_run`)."""
        run = await self.queue_training_run(
            started_by, corpus_id, settings, settings_key, status=TrainingStatus.RUNNING
        )
        return run.id

    async def transition_training_run(
        self,
        run_id: int,
        expected: Collection[TrainingStatus | str],
        new: TrainingStatus | str,
        **values: Any,
    ) -> TrainingRun | None:
        """Move the run to ``new`` if it is in one of ``expected``: one guarded UPDATE.

        Returns the updated run, or None if it was not in an expected state (another
        writer won; read the row to see what happened). ``values`` sets other columns
        (``error``, ``model_version_id``, losses, ``checkpoint_sha256``,
        ``outcome_sent_at``...). ``live`` and ``finished_at`` follow the new state.
        """
        target = TrainingStatus(new)
        changes: dict[str, Any] = {"status": target.value, **values}
        if target in LIVE_STATUSES:
            changes["live"] = True
        else:
            changes["live"] = None
            changes.setdefault("finished_at", utcnow())
        stmt = (
            update(TrainingRunRow)
            .where(TrainingRunRow.id == run_id, TrainingRunRow.status.in_(_values(expected)))
            .values(**changes)
        )
        async with self._sessions() as session, session.begin():
            result = cast(CursorResult[Any], await session.execute(stmt))
            if not result.rowcount:
                return None
            row = await session.get(TrainingRunRow, run_id, populate_existing=True)
            assert row is not None
            moved = _training_run(row)
        metrics.TRAINING_RUNS.labels(target.value).inc()
        if target is TrainingStatus.SUCCEEDED:
            metrics.TRAINING_LAST_SUCCESS.set_to_current_time()
        return moved

    async def finish_training_run(
        self,
        run_id: int,
        status: TrainingStatus | str,
        error: str | None = None,
        model_version_id: int | None = None,
        final_train_loss: float | None = None,
        final_val_loss: float | None = None,
    ) -> TrainingRun:
        """Move a live run to a final status.

        Raises TrainingRunStateError if the run has already finished (for example it
        was marked failed by :meth:`fail_abandoned_runs`), TrainingRunNotFoundError if
        it does not exist, and ValueError for a non-final status.
        """
        final = TrainingStatus(status)
        if final in LIVE_STATUSES:
            raise ValueError(f"a run cannot be finished as {final.value!r}")
        values: dict[str, Any] = {"error": error}
        if model_version_id is not None:
            values["model_version_id"] = model_version_id
        if final_train_loss is not None:
            values["final_train_loss"] = final_train_loss
        if final_val_loss is not None:
            values["final_val_loss"] = final_val_loss
        done = await self.transition_training_run(run_id, LIVE_STATUSES, final, **values)
        if done is not None:
            return done
        current = await self.get_training_run(run_id)
        if current is None:
            raise TrainingRunNotFoundError(run_id)
        raise TrainingRunStateError(
            f"training run {run_id} already finished as {current.status.value!r}"
        )

    async def set_run_status(
        self, run_id: int, status: TrainingStatus | str, error: str | None = None
    ) -> TrainingRun:
        """Change a finished run's final status, e.g. reclassify ``succeeded`` as ``rejected``.

        Refuses live statuses, which only the run's own transitions may set. ``error``
        replaces the stored error when given.
        """
        new = TrainingStatus(status)
        if new in LIVE_STATUSES:
            raise ValueError("use queue_training_run / transition_training_run for live states")
        async with self._sessions() as session, session.begin():
            row = await session.get(TrainingRunRow, run_id, with_for_update=True)
            if row is None:
                raise TrainingRunNotFoundError(run_id)
            row.status = new.value
            row.live = None
            if error is not None:
                row.error = error
            if row.finished_at is None:
                row.finished_at = utcnow()
            await session.flush()
            return _training_run(row)

    async def set_status_message(self, run_id: int, message_id: int) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(TrainingRunRow)
                .where(TrainingRunRow.id == run_id)
                .values(status_message_id=message_id)
            )

    async def live_training_run(self) -> TrainingRun | None:
        """The run that is queued, running or finishing, if any (at most one)."""
        stmt = select(TrainingRunRow).where(TrainingRunRow.live.is_not(None))
        async with self._sessions() as session:
            row = await session.scalar(stmt)
            return None if row is None else _training_run(row)

    async def running_training_run(self) -> TrainingRun | None:
        """Alias of :meth:`live_training_run`: "is a training going on?"."""
        return await self.live_training_run()

    async def claim_outcome(self, run_id: int) -> TrainingRun | None:
        """Mark a finished run's outcome as told; the run if this call claimed it.

        The guard makes it at most once: a retry, a restart or a second replica that
        comes later gets None and says nothing.
        """
        stmt = (
            update(TrainingRunRow)
            .where(
                TrainingRunRow.id == run_id,
                TrainingRunRow.outcome_sent_at.is_(None),
                TrainingRunRow.status.in_(_values(FINAL_STATUSES)),
            )
            .values(outcome_sent_at=utcnow())
        )
        return await self._update_one(run_id, stmt)

    async def release_outcome(self, run_id: int) -> None:
        """Undo :meth:`claim_outcome` after the message could not be sent: retry later."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(TrainingRunRow)
                .where(TrainingRunRow.id == run_id)
                .values(outcome_sent_at=None)
            )

    async def runs_awaiting_outcome(self) -> list[TrainingRun]:
        """Finished runs whose admin has not been told yet (and can be: a chat is known)."""
        stmt = (
            select(TrainingRunRow)
            .where(
                TrainingRunRow.outcome_sent_at.is_(None),
                TrainingRunRow.chat_id.is_not(None),
                TrainingRunRow.status.in_(_values(FINAL_STATUSES)),
            )
            .order_by(TrainingRunRow.id)
        )
        async with self._sessions() as session:
            return [_training_run(row) for row in await session.scalars(stmt)]

    async def runs_in(self, statuses: Collection[TrainingStatus | str]) -> list[TrainingRun]:
        stmt = (
            select(TrainingRunRow)
            .where(TrainingRunRow.status.in_(_values(statuses)))
            .order_by(TrainingRunRow.id)
        )
        async with self._sessions() as session:
            return [_training_run(row) for row in await session.scalars(stmt)]

    async def referenced_checkpoint_paths(self) -> set[str]:
        """Checkpoint files the database still needs: every unpruned version's, every
        live run's."""
        async with self._sessions() as session:
            versions = await session.scalars(
                select(ModelVersionRow.checkpoint_path).where(ModelVersionRow.pruned_at.is_(None))
            )
            live = await session.scalars(
                select(TrainingRunRow.checkpoint_path).where(
                    TrainingRunRow.live.is_not(None), TrainingRunRow.checkpoint_path.is_not(None)
                )
            )
            return {p for p in [*versions, *live] if p}

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

    async def _update_one(self, run_id: int, stmt: Any) -> TrainingRun | None:
        async with self._sessions() as session, session.begin():
            result = cast(CursorResult[Any], await session.execute(stmt))
            if not result.rowcount:
                return None
            row = await session.get(TrainingRunRow, run_id, populate_existing=True)
            return None if row is None else _training_run(row)


def _after(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)
