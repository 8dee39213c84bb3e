"""Queue mode: the bot's view of a run that a trainer elsewhere drives.

The trainer writes the run's progress into its row; a bot replica reads it back and
edits the admin's status message. Of several replicas exactly one edits (the
``editor`` lease, claimed and renewed by a guarded UPDATE, taken over when a replica
dies); the outcome is sent once by whoever claims ``outcome_sent_at`` first. The
watcher also notices a trainer that died (its heartbeat went silent, or its lease ran
out: the run is failed) and
a ``finishing`` run whose trainer died (this replica finishes it: the steps are
idempotent and the checkpoint is in the database). A patrol every few seconds makes
every replica watch the live run, whoever started it, and tells the outcome of runs
that ended while nobody watched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.retrain.messages import edit, final_status, progress_text
from bot.storage import TrainingRun, TrainingStatus
from bot.storage.schema import utcnow
from bot.texts.worded import Worded
from bot.training import cleanup
from bot.training.blobs import corpus_text
from bot.training.finishing import Finished
from bot.training.judge import Verdict
from bot.training.owner import fail_abandoned, is_dead
from bot.training.retry import describe, retry

if TYPE_CHECKING:
    from bot.retrain.manager import RetrainManager

log = logging.getLogger(__name__)

POLL_S = 1.0
PATROL_S = 3.0
# A run that ended this long ago with nobody told is told by the patrol (the replica
# watching it, with the details, normally comes first).
UNTOLD_GRACE = timedelta(seconds=15)
NO_TRAINER = Worded("run_trainer_silent").stored()  # stored causes: bot.texts.worded


class RunWatcher:
    def __init__(self, manager: RetrainManager) -> None:
        self.manager = manager
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._patrol: asyncio.Task[None] | None = None
        # What /stats says about a run a trainer drives (the row's latest progress).
        self.status_text: str | None = None

    @property
    def _editor_lease_s(self) -> float:
        return max(5.0, 3 * POLL_S)

    def watch(self, run_id: int) -> None:
        task = self._tasks.get(run_id)
        if task is None or task.done():
            self._tasks[run_id] = asyncio.create_task(self._follow(run_id), name=f"watch-{run_id}")

    def start(self) -> None:
        if self._patrol is None:
            self._patrol = asyncio.create_task(self._patrol_loop(), name="training-patrol")

    async def stop(self) -> None:
        tasks = [t for t in [self._patrol, *self._tasks.values()] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._patrol = None

    async def _patrol_loop(self) -> None:
        storage = self.manager.storage
        while True:
            try:
                live = await storage.live_training_run()
                if live is not None:
                    self.watch(live.id)
                for run in await storage.runs_awaiting_outcome():
                    if run.finished_at is not None and utcnow() - run.finished_at > UNTOLD_GRACE:
                        await self.manager._announce(run.id)
            except Exception as exc:  # the next round tries again
                log.warning("training patrol: %s", describe(exc))
            await asyncio.sleep(PATROL_S)

    async def _follow(self, run_id: int) -> None:
        m = self.manager
        shown: Any = object()
        last_edit = 0.0
        while True:
            try:
                run = await retry(lambda: m.storage.get_training_run(run_id), "reading the run")
                if run is None:
                    return
                if run.finished:
                    self.status_text = None
                    await self._conclude(run, shown)
                    return
                if await self._abandoned(run):
                    if run.status is TrainingStatus.FINISHING:
                        if await m.take_over_finishing(run):
                            return  # driven here now, told by the manager
                    else:
                        await fail_abandoned(m.storage, m.owner, NO_TRAINER)
                        continue
                last = (run.progress or {}).get("last")
                step = last.get("step") if isinstance(last, dict) else None
                now = time.monotonic()
                finishing = run.status is TrainingStatus.FINISHING
                final = finishing or (isinstance(last, dict) and step == last.get("total_steps"))
                due = now - last_edit >= m.settings.progress_edit_interval_s or final
                key = "finishing" if finishing else step
                self.status_text = (
                    f"Training run #{run.id}: training done, registering the new model…"
                    if finishing
                    else progress_text(run.id, last, _started(run))
                )
                if key != shown and due and await self._is_editor(run):
                    if finishing:  # the last progress first (a fast run may skip it)
                        shown = await self._show_last_progress(run, shown)
                    shown, last_edit = key, now
                    await edit(m.bot, run.chat_id, run.status_message_id, self.status_text)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never a silent death: the patrol starts a new one
                log.warning("watching training run %d: %s", run_id, describe(exc))
                return
            await asyncio.sleep(POLL_S)

    async def _abandoned(self, run: TrainingRun) -> bool:
        if run.lease_expires_at is not None and run.lease_expires_at < utcnow():
            return True
        return run.owner is not None and await is_dead(
            self.manager.storage, run.owner, self.manager.owner
        )

    async def _is_editor(self, run: TrainingRun) -> bool:
        if run.chat_id is None or run.status_message_id is None:
            return False
        return await self.manager.storage.claim_editor(
            run.id, self.manager.owner, self._editor_lease_s
        )

    async def _show_last_progress(self, run: TrainingRun, shown: Any) -> Any:
        """Edit in the run's last recorded progress unless it is what the message shows."""
        last = (run.progress or {}).get("last")
        if not isinstance(last, dict) or last.get("step") == shown or shown == "finishing":
            return shown
        text = progress_text(run.id, last, _started(run))
        await edit(self.manager.bot, run.chat_id, run.status_message_id, text)
        return last.get("step")

    async def _conclude(self, run: TrainingRun, shown: Any = None) -> None:
        """Serve what the database says is active, then tell the outcome (once overall)."""
        m = self.manager
        try:
            await m.follow_database()
        except Exception as exc:  # the engine keeps its model; /use can swap later
            log.warning("run %d: could not load the active version: %s", run.id, describe(exc))
        details = await self._details(run)
        if await self._is_editor(run):
            if run.status is TrainingStatus.SUCCEEDED:
                await self._show_last_progress(run, shown)
            await edit(m.bot, run.chat_id, run.status_message_id, final_status(run))
        history = (run.progress or {}).get("history")
        await m._announce(run.id, details, history if isinstance(history, list) else None)
        # whoever registered the version pruned; this replica empties its own cache
        await cleanup.collect_cache(m.storage, m.settings.checkpoint_dir)

    async def _details(self, run: TrainingRun) -> Finished | None:
        """What the outcome message shows (verdict, sample), rebuilt from the database."""
        m = self.manager
        if run.status is not TrainingStatus.SUCCEEDED or run.model_version_id is None:
            return None
        try:
            version = await m.storage.get_model_version(run.model_version_id)
            corpus = await m.storage.get_corpus(run.corpus_id)
            if version is None or corpus is None:
                return None
            checkpoint = await m._load(version)
            text = await corpus_text(m.storage, m.settings.corpus_dir, corpus)
            raw = (run.progress or {}).get("verdict")
            verdict = None
            with contextlib.suppress(TypeError, ValueError):
                verdict = Verdict(**raw) if isinstance(raw, dict) else None
            return Finished(run, version, verdict, checkpoint, text)
        except Exception as exc:  # the outcome goes out anyway, without the details
            log.warning("run %d: outcome details unavailable: %s", run.id, describe(exc))
            return None


def _started(run: TrainingRun) -> float:
    """The run's start as a ``time.monotonic()`` value (progress_text's clock)."""
    return time.monotonic() - max(0.0, (utcnow() - run.started_at).total_seconds())
