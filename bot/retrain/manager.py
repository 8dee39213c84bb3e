"""The bot's side of retraining: launch the job, cancel, recover.

The database row is the only source of truth for a run; "Is a training running?" is
answered from the row (:meth:`RetrainManager.live_run`). A run started here is driven
in this process by :class:`bot.retrain.driver.RunDriver` (the trainer child, the
finishing steps, the progress edits and the outcome message); which model version the
engine serves is :class:`bot.retrain.swap.VersionSwap`'s. Both are parts of
:class:`RetrainManager`, the one object the handlers hold.

At start-up, :meth:`recover` handles what a previous process left behind: ``queued``
and ``running`` rows nobody drives any more become ``failed``; ``finishing`` rows
nobody drives are finished (the steps are idempotent); finished rows whose admin was
never told are announced; stale temporary files, checkpoints and corpora nothing
refers to are deleted.

Several processes may share the database, so "nobody drives it" is read
from the run's owner and lease (:mod:`bot.training.owner`), never assumed: a run a live
trainer or replica renews is left alone. With ``TRAINING=queue`` a run is not trained
here: it goes on the job queue for ``python -m bot.trainer`` processes, and
:class:`bot.retrain.watch.RunWatcher` shows its progress and outcome from the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Bot

from bot.retrain.driver import LiveJob, RunDriver
from bot.retrain.watch import RunWatcher
from bot.settings.config import Settings
from bot.storage import (
    Corpus,
    Storage,
    TrainingRun,
    TrainingStatus,
    make_settings_key,
)
from bot.storage.schema import utcnow
from bot.texts.worded import Worded
from bot.training import cleanup
from bot.training.finishing import PhaseHook
from bot.training.job import training_args
from bot.training.owner import dead_owners, fail_abandoned, identity
from bot.training.retry import describe, retry
from model.checkpoint import Checkpoint
from model.engine import GenerationEngine

log = logging.getLogger(__name__)

ORPHANED = Worded("run_bot_stopped_during").stored()  # stored causes: bot.texts.worded
NO_TRAINER = Worded("run_trainer_gone").stored()
CANCEL_WAIT_S = 30.0


@dataclass(frozen=True)
class CancelResult:
    """What a cancel did: ``cancelled``, ``too_late`` (finishing won), or ``none``."""

    outcome: str
    run_id: int | None = None
    run: TrainingRun | None = None
    serving: int | None = None


class RetrainManager(RunDriver):
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        engine: GenerationEngine,
        bot: Bot,
        active: tuple[Checkpoint, int],
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.engine = engine
        self.bot = bot
        self.active_checkpoint, self.active_version = active
        self.current: LiveJob | None = None
        self._lock = asyncio.Lock()  # serialises swaps (/use and the end of a run)
        # Starts in progress here, from the admin's "starting…" message to their task's
        # creation: such a run has a driver already, it just is not in ``current`` (or
        # not even in the database) yet. ``_started`` is set whenever none is.
        self._starting = 0
        self._started = asyncio.Event()
        self._started.set()
        # Tests stop a run at a chosen finishing phase with this (see finishing.PHASES).
        self.phase_hook: PhaseHook | None = None
        # this process's name in the rows it drives, and, in queue mode, the
        # watcher of runs that trainers elsewhere drive.
        self.owner = identity("bot")
        self.watcher: RunWatcher | None = RunWatcher(self) if settings.training == "queue" else None

    # ------------------------------------------------------------------ queries

    def settings_key(self, corpus: Corpus, plan: dict[str, Any] | None = None) -> str:
        args = training_args(self.settings, corpus.path, Path("unused"), plan)
        return make_settings_key(corpus.sha256, args.settings())

    def training_settings(
        self, corpus: Corpus, plan: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return training_args(self.settings, corpus.path, Path("unused"), plan).settings()

    @property
    def running(self) -> bool:
        """Whether this process drives a run now (the database knows about every process)."""
        job = self.current
        return job is not None and job.task is not None and not job.task.done()

    async def live_run(self) -> TrainingRun | None:
        """The live run per the database, after resolving one that has nobody driving it.

        A ``queued``/``running`` row nobody drives (lease expired, owner dead) is
        failed; such a ``finishing`` one is resumed here. A run another live process
        drives is left alone. So a fault can never leave "a training is running"
        answered forever.
        """
        run = await self.storage.live_training_run()
        if run is None or self._starting or (self.current and self.current.run_id == run.id):
            return run
        if run.status is TrainingStatus.FINISHING:
            await self.take_over_finishing(run)
            return await self.storage.live_training_run()
        failed = await fail_abandoned(self.storage, self.owner, NO_TRAINER)
        if run.id in failed:
            await self._announce(run.id)
            return await self.storage.live_training_run()
        if self.watcher is not None:
            self.watcher.watch(run.id)
        return run

    async def take_over_finishing(self, run: TrainingRun) -> bool:
        """Finish here a ``finishing`` run whose driver is gone; True if taken."""
        dead = await dead_owners(self.storage, self.owner)
        taken = await self.storage.take_over_finishing(
            run.id, self.owner, self.settings.training_lease_s, dead
        )
        if taken is not None and not (self.current and self.current.run_id == run.id):
            log.info("resuming the finishing steps of training run %d", run.id)
            self._drive(taken)
        return taken is not None

    # ----------------------------------------------------------------- starting

    async def start(
        self,
        corpus: Corpus,
        started_by: int,
        chat_id: int,
        status_message_id: int | None,
        plan: dict[str, Any] | None = None,  # fine-tune or fresh (retrain/plan.py)
    ) -> int:
        """Record a ``queued`` run and drive it in the background; returns the run id.

        Raises TrainingAlreadyRunningError (from storage) if one is live.
        """
        async with self.starting():
            if self.watcher is not None:
                return await self._enqueue(corpus, started_by, chat_id, status_message_id)
            run = await self.storage.queue_training_run(
                started_by,
                corpus.id,
                self.training_settings(corpus, plan),
                self.settings_key(corpus, plan),
                chat_id=chat_id,
                status_message_id=status_message_id,
                checkpoint_dir=str(self.settings.checkpoint_dir),
                owner=self.owner,
                lease_s=self.settings.training_lease_s,
            )
            self._drive(run)
        return run.id

    async def attach_status_message(self, run_id: int, message_id: int) -> None:
        """The admin's status message, sent after the run was recorded: progress edits
        and the final status go to it from now on (on any replica: it is in the row)."""
        await retry(lambda: self.storage.set_status_message(run_id, message_id),
                    f"run {run_id}: attaching its status message")  # fmt: skip
        job = self.current
        if job is not None and job.run_id == run_id:
            job.status_message_id = message_id

    @contextlib.asynccontextmanager
    async def starting(self) -> AsyncIterator[None]:
        """Mark a start in progress; the admin handler holds it from the moment it
        announces "starting…", so that a cancel sent on seeing that waits for the run."""
        self._starting += 1
        self._started.clear()
        try:
            yield
        finally:
            self._starting -= 1
            if not self._starting:
                self._started.set()

    async def _enqueue(
        self, corpus: Corpus, started_by: int, chat_id: int, status_message_id: int | None
    ) -> int:
        """Queue mode: record the run (no owner yet), put it on the job queue, watch it.

        A queued run's lease is how long it may wait for a trainer (TRAINER_WAIT_S).
        """
        assert self.watcher is not None
        run = await self.storage.queue_training_run(
            started_by,
            corpus.id,
            self.training_settings(corpus),
            self.settings_key(corpus),
            chat_id=chat_id,
            status_message_id=status_message_id,
            lease_s=self.settings.trainer_wait_s,
        )
        try:
            # Imported here: pgqueuer and asyncpg are needed only with PostgreSQL.
            from bot.training.queue import enqueue_training

            await enqueue_training(self.settings.database_url, run.id)
        except Exception as exc:
            log.warning("training run %d: the job queue refused it: %s", run.id, describe(exc))
            await self._fail_live(run.id, Worded("run_queue_unreachable").stored())
        self.watcher.watch(run.id)
        return run.id

    # ---------------------------------------------------------------- stopping

    async def cancel(self, reason: str = "cancelled by an admin") -> CancelResult:
        """Cancel the live run if it is still training; the reply is its outcome message.

        The cancel is the guarded transition ``queued|running -> cancelled`` with the
        outcome marked as told (the caller replies). If the run is already finishing,
        the transition loses: the cancel came too late, and once the run is done the
        result says which version serves.
        """
        # A run being started here is not in the database yet: wait for it to be.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._started.wait(), CANCEL_WAIT_S)
        run = await retry(self.live_run, "reading the live run", attempts=3)
        if run is None:
            return CancelResult("none")
        won = await retry(
            lambda: self.storage.transition_training_run(
                run.id,
                {TrainingStatus.QUEUED, TrainingStatus.RUNNING},
                TrainingStatus.CANCELLED,
                error=reason,
                outcome_sent_at=utcnow(),
            ),
            f"run {run.id}: -> cancelled",
            attempts=3,
        )
        job = self.current if self.current and self.current.run_id == run.id else None
        if won is not None:
            if job is not None and job.process is not None:
                await job.process.cancel()
            if job is not None and job.task is not None:
                await asyncio.wait([job.task], timeout=CANCEL_WAIT_S)
            return CancelResult("cancelled", run.id, won, self.serving)
        if job is not None and job.task is not None:
            await asyncio.wait([job.task], timeout=CANCEL_WAIT_S)
        now = await self.storage.get_training_run(run.id)
        return CancelResult("too_late", run.id, now, self.serving)

    async def shutdown(self) -> None:
        """On bot stop: a training is cancelled (recorded and told); finishing may end."""
        if self.watcher is not None:
            await self.watcher.stop()
        job = self.current
        if job is None or job.task is None:
            return
        if not job.finishing:
            with contextlib.suppress(Exception):
                await self.storage.transition_training_run(
                    job.run_id,
                    {TrainingStatus.QUEUED, TrainingStatus.RUNNING},
                    TrainingStatus.CANCELLED,
                    error=Worded("run_bot_stopped").stored(),
                )
            if job.process is not None:
                await job.process.cancel(grace_s=5.0)
        _, pending = await asyncio.wait([job.task], timeout=15)
        if pending:  # the row stays finishing (or is failed at start-up): resumed next time
            job.task.cancel()
            await asyncio.gather(job.task, return_exceptions=True)
            # hand the run over now rather than when the lease runs out, so the
            # next start (or another replica) resumes it at once.
            with contextlib.suppress(Exception):
                await self.storage.release_lease(job.run_id, self.owner)

    # ---------------------------------------------------------------- start-up

    async def recover(self) -> None:
        """Settle what a previous process left (see the module docstring)."""
        s = self.settings
        cleanup.sweep_temporary(s.checkpoint_dir, s.corpus_dir)
        orphaned = await retry(
            lambda: fail_abandoned(self.storage, self.owner, ORPHANED), "failing orphaned runs"
        )
        if orphaned:
            log.warning("marked training run(s) %s left by a stopped process as failed", orphaned)
        for run in await self.storage.runs_in({TrainingStatus.FINISHING}):
            await self.take_over_finishing(run)
        for run in await self.storage.runs_awaiting_outcome():
            await self._announce(run.id)
        if self.watcher is not None:
            self.watcher.start()
        await cleanup.backfill_blobs(self.storage)
        if self.current is None:
            await cleanup.collect_checkpoints(self.storage, s.checkpoint_dir)
            await cleanup.prune_versions(self.storage, s.checkpoint_dir, s.model_versions_keep)
            await cleanup.collect_corpora(self.storage, s.corpus_dir, created_before=utcnow())
            await cleanup.collect_blobs(self.storage)
