"""Driving a run in this process: the trainer child, the finishing steps, the progress
edits, and the one outcome message.

A run is driven by :func:`bot.training.job.run_training` (training phase) and
:func:`bot.training.finishing.finish` (steps after it), then announced once
(:func:`bot.retrain.report.announce`). The database row is the only source of truth
for the run; :class:`LiveJob` holds only what cannot live there: the handle of the live
trainer child process and the task driving it, plus the progress to show. While it
drives a run, this process renews the run's lease (:func:`bot.training.owner.heartbeat`),
so other processes leave it alone; a failure that nothing else catches fails the row,
so a run never stays live without a driver.

:class:`RunDriver` is the driving part of :class:`bot.retrain.manager.RetrainManager`,
which starts, cancels and recovers the runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot

from bot.retrain.messages import admin_language, edit, final_status, progress_text
from bot.retrain.report import announce
from bot.retrain.swap import VersionSwap
from bot.retrain.watch import RunWatcher
from bot.storage import TrainingRun, TrainingStatus
from bot.storage.schema import LIVE_STATUSES
from bot.texts import t
from bot.training import cleanup
from bot.training.finishing import Finished, PhaseHook, finish
from bot.training.job import run_training
from bot.training.owner import heartbeat
from bot.training.process import TrainingProcess
from bot.training.retry import describe, retry

log = logging.getLogger(__name__)


@dataclass
class LiveJob:
    """What only this process can know about the run it drives."""

    run_id: int
    chat_id: int | None
    status_message_id: int | None
    process: TrainingProcess | None = None
    task: asyncio.Task[None] | None = None
    started: float = field(default_factory=time.monotonic)
    last: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    last_edit: float = 0.0
    finishing: bool = False
    started_by: int | None = None  # whose language the status message speaks
    lang: str | None = None


class RunDriver(VersionSwap):
    """The driving half of :class:`bot.retrain.manager.RetrainManager`."""

    bot: Bot
    current: LiveJob | None
    owner: str
    phase_hook: PhaseHook | None
    watcher: RunWatcher | None

    def status(self, lang: str | None = None) -> str:
        job = self.current
        if job is None and self.watcher is not None and self.watcher.status_text:
            return self.watcher.status_text  # a run a trainer elsewhere drives
        if job is None:
            return t(lang, "rt_none_running")
        if job.finishing:
            return t(lang, "rt_registering", run=job.run_id)
        return progress_text(job.run_id, job.last, job.started, lang)

    def _drive(self, run: TrainingRun) -> None:
        job = LiveJob(run.id, run.chat_id, run.status_message_id)
        job.started_by = run.started_by
        job.finishing = run.status is TrainingStatus.FINISHING
        self.current = job
        job.task = asyncio.create_task(self._run(job), name=f"training-run-{run.id}")

    async def _run(self, job: LiveJob) -> None:
        lease = heartbeat(self.storage, job.run_id, self.owner, self.settings.training_lease_s)
        async with lease:
            await self._run_leased(job)

    async def _run_leased(self, job: LiveJob) -> None:
        details: Finished | None = None
        job.lang = await admin_language(self.storage, job.started_by)
        try:
            run = await run_training(
                job.run_id,
                self.storage,
                self.settings,
                on_event=lambda e: self._on_event(job, e),
                on_process=lambda p: setattr(job, "process", p),
                on_wait=lambda cause: self._waiting(job, cause),
            )
            if run.status is TrainingStatus.FINISHING:
                job.finishing = True
                await edit(self.bot, job.chat_id, job.status_message_id, self.status(job.lang))
                details = await finish(
                    job.run_id,
                    self.storage,
                    self.settings,
                    active=lambda: self.active_checkpoint,
                    make_live=self.follow_database,
                    on_wait=lambda cause: self._waiting(job, cause),
                    hook=self.phase_hook,
                )
        except asyncio.CancelledError:
            raise  # the bot is stopping; the row says where to resume
        except Exception as exc:  # never a silent death, never a live row without a driver
            log.exception("training run %d: unexpected error", job.run_id)
            await self._fail_live(job.run_id, describe(exc))
        finally:
            if job.process is not None:
                job.process.kill()
        await self._conclude(job, details)

    async def _conclude(self, job: LiveJob, details: Finished | None) -> None:
        try:
            run = await retry(lambda: self.storage.get_training_run(job.run_id), "reading run")
            if run is not None:
                await edit(
                    self.bot, job.chat_id, job.status_message_id, final_status(run, job.lang)
                )
                await self._announce(job.run_id, details, job.history)
            await cleanup.collect_checkpoints(self.storage, self.settings.checkpoint_dir)
            await cleanup.prune_versions(
                self.storage, self.settings.checkpoint_dir, self.settings.model_versions_keep
            )
            await cleanup.collect_corpora(self.storage, self.settings.corpus_dir)
            await cleanup.collect_blobs(self.storage)
        finally:
            if self.current is job:
                self.current = None

    async def _fail_live(self, run_id: int, cause: str) -> None:
        with contextlib.suppress(Exception):
            await retry(
                lambda: self.storage.transition_training_run(
                    run_id, LIVE_STATUSES, TrainingStatus.FAILED, error=cause
                ),
                f"run {run_id}: -> failed",
            )

    async def _announce(
        self,
        run_id: int,
        details: Finished | None = None,
        history: list[dict[str, Any]] | None = None,
    ) -> bool:
        return await announce(
            self.bot,
            self.storage,
            run_id,
            serving=self.serving,
            details=details,
            active=self.active_checkpoint,
            history=history,
        )

    async def _on_event(self, job: LiveJob, event: dict[str, Any]) -> None:
        if event.get("event") != "progress":
            return
        job.last = event
        job.history.append(event)
        now = time.monotonic()
        final = event.get("step") == event.get("total_steps")
        if now - job.last_edit >= self.settings.progress_edit_interval_s or final:
            job.last_edit = now
            await edit(self.bot, job.chat_id, job.status_message_id, self.status(job.lang))

    async def _waiting(self, job: LiveJob, cause: str) -> None:
        await edit(
            self.bot,
            job.chat_id,
            job.status_message_id,
            t(job.lang, "rt_waiting_db", run=job.run_id, cause=cause),
        )
