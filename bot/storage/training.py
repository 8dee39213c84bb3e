"""Corpora and training runs.

A training run's row is its only source of truth (see ``TrainingStatus``): every change
of state is one committed ``UPDATE ... WHERE status IN (expected)``, so of two racing
writers (a cancel and the trainer's own "finished", a restart and a late trainer) exactly
one wins and the other learns it lost from the row count, never by overwriting.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, exists, or_, select, update
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
    LIVE_STATUSES,
    CorpusRow,
    CorpusSource,
    ModelVersionRow,
    TrainingRunRow,
    TrainingStatus,
    utcnow,
)
from bot.storage.session import Queries, _upsert_insert

FINAL_STATUSES: frozenset[TrainingStatus] = frozenset(set(TrainingStatus) - LIVE_STATUSES)


def _values(statuses: Collection[TrainingStatus | str]) -> list[str]:
    return [TrainingStatus(s).value for s in statuses]


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
        """Record a corpus; one with the same SHA-256 is returned instead (an upsert).

        Two identical uploads at the same moment therefore share one row and one file.
        """
        values = {
            "path": path,
            "sha256": sha256,
            "chars": chars,
            "size_bytes": size_bytes,
            # Validated here for a clear ValueError; the CHECK constraint is the backstop.
            "source": CorpusSource(source).value,
            "uploaded_by": uploaded_by,
            "created_at": utcnow(),
        }
        async with self._sessions() as session, session.begin():
            insert = _upsert_insert(session)
            await session.execute(
                insert(CorpusRow).values(**values).on_conflict_do_nothing(index_elements=["sha256"])
            )
            row = await session.scalar(select(CorpusRow).where(CorpusRow.sha256 == sha256))
            assert row is not None  # inserted or already there, in this transaction
            return _corpus(row)

    async def delete_corpus_if_unused(self, corpus_id: int) -> Corpus | None:
        """Delete a corpus no training run or model version refers to; the deleted record.

        One statement, so a run started on it at the same moment either keeps it (the
        run's row exists first) or fails cleanly with CorpusNotFoundError.
        """
        async with self._sessions() as session, session.begin():
            row = await session.get(CorpusRow, corpus_id)
            if row is None:
                return None
            record = _corpus(row)
            result = cast(
                CursorResult[Any],
                await session.execute(
                    delete(CorpusRow).where(CorpusRow.id == corpus_id, *_unused_corpus())
                ),
            )
            return record if result.rowcount else None

    async def unused_corpora(self, created_before: datetime) -> list[Corpus]:
        """Corpora no run or version refers to, created before ``created_before``."""
        stmt = select(CorpusRow).where(CorpusRow.created_at < created_before, *_unused_corpus())
        async with self._sessions() as session:
            return [_corpus(row) for row in await session.scalars(stmt)]

    async def corpora_referenced(self) -> list[Corpus]:
        """Corpora a run or a version refers to (issue 12a: to store older ones as blobs)."""
        stmt = select(CorpusRow).where(~and_(*_unused_corpus()))
        async with self._sessions() as session:
            return [_corpus(row) for row in await session.scalars(stmt)]

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
                return _training_run(row)
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
            return _training_run(row)

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
        was marked failed by :meth:`fail_orphaned_runs`), TrainingRunNotFoundError if
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
        """Checkpoint files the database still needs: every version's, every live run's."""
        async with self._sessions() as session:
            versions = await session.scalars(select(ModelVersionRow.checkpoint_path))
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

    async def fail_orphaned_runs(self, reason: str) -> int:
        """Mark every ``queued`` or ``running`` run as failed; return how many.

        Called at start-up: the trainer is a child of the bot (and dies with it), so such
        a run has no trainer and would otherwise block training forever. ``finishing``
        runs are not touched: their checkpoint is complete and the finishing steps resume.
        """
        stmt = (
            update(TrainingRunRow)
            .where(
                TrainingRunRow.status.in_(
                    [TrainingStatus.QUEUED.value, TrainingStatus.RUNNING.value]
                )
            )
            .values(
                status=TrainingStatus.FAILED.value, live=None, error=reason, finished_at=utcnow()
            )
        )
        async with self._sessions() as session, session.begin():
            result = cast(CursorResult[Any], await session.execute(stmt))
            return result.rowcount

    # ------------------------------------------------------ issue 12a: owners and leases

    async def claim_queued_run(
        self, run_id: int, owner: str, lease_s: float, checkpoint_path: str
    ) -> TrainingRun | None:
        """Take a ``queued`` run for ``owner`` (a trainer); None if it is not queued any more.

        Sets where this trainer writes the checkpoint: its own CHECKPOINT_DIR.
        """
        stmt = (
            update(TrainingRunRow)
            .where(
                TrainingRunRow.id == run_id,
                TrainingRunRow.status == TrainingStatus.QUEUED.value,
            )
            .values(owner=owner, lease_expires_at=_after(lease_s), checkpoint_path=checkpoint_path)
        )
        return await self._update_one(run_id, stmt)

    async def take_over_finishing(
        self, run_id: int, owner: str, lease_s: float, dead_owners: Collection[str] = ()
    ) -> TrainingRun | None:
        """Take a ``finishing`` run whose owner's lease expired, is dead, or that has none."""
        stmt = (
            update(TrainingRunRow)
            .where(
                TrainingRunRow.id == run_id,
                TrainingRunRow.status == TrainingStatus.FINISHING.value,
                or_(
                    TrainingRunRow.owner.is_(None),
                    TrainingRunRow.owner == owner,
                    TrainingRunRow.lease_expires_at.is_(None),
                    TrainingRunRow.lease_expires_at < utcnow(),
                    TrainingRunRow.owner.in_(list(dead_owners)),
                ),
            )
            .values(owner=owner, lease_expires_at=_after(lease_s))
        )
        return await self._update_one(run_id, stmt)

    async def renew_lease(self, run_id: int, owner: str, lease_s: float) -> TrainingRun | None:
        """Extend ``owner``'s lease of a live run; the run as it is now (None if gone).

        The caller reads the status from the result: ``cancelled`` means an admin (on
        any replica) cancelled it, and the trainer stops.
        """
        stmt = (
            update(TrainingRunRow)
            .where(
                TrainingRunRow.id == run_id,
                TrainingRunRow.owner == owner,
                TrainingRunRow.live.is_not(None),
            )
            .values(lease_expires_at=_after(lease_s))
        )
        async with self._sessions() as session, session.begin():
            await session.execute(stmt)
            row = await session.get(TrainingRunRow, run_id, populate_existing=True)
            return None if row is None else _training_run(row)

    async def release_lease(self, run_id: int, owner: str) -> None:
        """``owner`` stops driving the run (a graceful stop): anyone may take it over now."""
        stmt = (
            update(TrainingRunRow)
            .where(TrainingRunRow.id == run_id, TrainingRunRow.owner == owner)
            .values(lease_expires_at=utcnow())
        )
        async with self._sessions() as session, session.begin():
            await session.execute(stmt)

    async def save_progress(self, run_id: int, owner: str, progress: Mapping[str, Any]) -> bool:
        """Record the run's progress for other processes; False if ``owner`` lost the run."""
        stmt = (
            update(TrainingRunRow)
            .where(TrainingRunRow.id == run_id, TrainingRunRow.owner == owner)
            .values(progress=dict(progress))
        )
        async with self._sessions() as session, session.begin():
            result = cast(CursorResult[Any], await session.execute(stmt))
            return bool(result.rowcount)

    async def claim_editor(self, run_id: int, editor: str, lease_s: float) -> bool:
        """Be (or stay) the one process that edits the run's status message."""
        stmt = (
            update(TrainingRunRow)
            .where(
                TrainingRunRow.id == run_id,
                or_(
                    TrainingRunRow.editor.is_(None),
                    TrainingRunRow.editor == editor,
                    TrainingRunRow.editor_lease_expires_at.is_(None),
                    TrainingRunRow.editor_lease_expires_at < utcnow(),
                ),
            )
            .values(editor=editor, editor_lease_expires_at=_after(lease_s))
        )
        async with self._sessions() as session, session.begin():
            result = cast(CursorResult[Any], await session.execute(stmt))
            return bool(result.rowcount)

    async def fail_abandoned_runs(
        self, reason: str, dead_owners: Collection[str] = ()
    ) -> list[int]:
        """Fail ``queued``/``running`` runs nobody drives any more; their ids.

        Nobody drives a run whose lease expired (or that never had one: rows of earlier
        versions), or whose owner is known dead (``dead_owners``: processes of this host
        that no longer exist). A run another live process renews is never touched.
        """
        abandoned = or_(
            TrainingRunRow.lease_expires_at.is_(None),
            TrainingRunRow.lease_expires_at < utcnow(),
            TrainingRunRow.owner.in_(list(dead_owners)),
        )
        stmt = (
            update(TrainingRunRow)
            .where(
                TrainingRunRow.status.in_(
                    [TrainingStatus.QUEUED.value, TrainingStatus.RUNNING.value]
                ),
                abandoned,
            )
            .values(
                status=TrainingStatus.FAILED.value, live=None, error=reason, finished_at=utcnow()
            )
            .returning(TrainingRunRow.id)
        )
        async with self._sessions() as session, session.begin():
            return list(await session.scalars(stmt))

    async def live_owners(self) -> list[str]:
        """The owners of live runs (to find the ones that are dead processes of this host)."""
        stmt = select(TrainingRunRow.owner).where(
            TrainingRunRow.live.is_not(None), TrainingRunRow.owner.is_not(None)
        )
        async with self._sessions() as session:
            return [o for o in await session.scalars(stmt) if o]

    async def _update_one(self, run_id: int, stmt: Any) -> TrainingRun | None:
        async with self._sessions() as session, session.begin():
            result = cast(CursorResult[Any], await session.execute(stmt))
            if not result.rowcount:
                return None
            row = await session.get(TrainingRunRow, run_id, populate_existing=True)
            return None if row is None else _training_run(row)


def _after(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def _unused_corpus() -> list[Any]:
    return [
        ~exists().where(TrainingRunRow.corpus_id == CorpusRow.id),
        ~exists().where(ModelVersionRow.corpus_id == CorpusRow.id),
    ]
