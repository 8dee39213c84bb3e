"""The trainer service: take training jobs from the queue, train, register the version.

Each job carries a run id. The trainer claims the run (``queued`` -> owned by this
trainer, with a lease and its own checkpoint path), then runs exactly the code the bot
runs in single-process mode: :func:`bot.training.job.run_training` for the training
phase and :func:`bot.training.finishing.finish` for the steps after it. The corpus and
the active model are read through the local cache (fetched from the database by
SHA-256), and the new checkpoint is stored in the database before the run becomes
``finishing``, so the bot replicas need nothing from this host's disk.

While it works, a heartbeat renews the lease and reads the row back: ``cancelled``
(an admin's /retrain cancel on any replica) stops the training child. Killed with -9,
the trainer stops renewing its lease and writing its heartbeat row; the run is failed
by whoever notices first (a bot replica's watcher, another trainer's patrol, or this
trainer's restart, which knows its predecessor's pid is gone), within three heartbeats
(TRAINER_HEARTBEAT_S) on any host rather than when the lease runs out. A job re-picked
by pgqueuer after such a death finds its run no longer ``queued`` and does nothing: a
killed run is failed, not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

from pgqueuer.models import Job

from bot.cluster.heartbeat import Heartbeat
from bot.settings.config import Settings
from bot.storage import Storage, TrainingRun, TrainingStatus
from bot.storage.queries.replicas import TRAINER, ReplicaQueries
from bot.texts.worded import Worded
from bot.trainer.progress import ProgressWriter
from bot.training import cleanup, queue
from bot.training.blobs import checkpoint_file
from bot.training.finishing import finish
from bot.training.job import run_training
from bot.training.owner import (
    MISSED_BEATS,
    dead_owners,
    fail_abandoned,
    heartbeat,
    identity,
)
from bot.training.process import TrainingProcess
from bot.training.retry import Outage, describe, is_disconnect, retry
from model.checkpoint import Checkpoint, load_checkpoint
from model.errors import CheckpointError

log = logging.getLogger(__name__)

# How long the queue manager waits for a NOTIFY before it looks at the queue itself: a
# job whose NOTIFY was lost (sent while this trainer was reconnecting) waits no longer.
DEQUEUE_TIMEOUT_S = 5.0

# How often a trainer looks for runs whose trainer died (a silent heartbeat is seen
# within this of going silent, whatever TRAINING_LEASE_S is).
PATROL_S = 5.0

NO_TRAINER = Worded("run_trainer_silent").stored()  # stored causes: bot.texts.worded
STOPPED = Worded("run_trainer_stopped").stored()


class QuietDisconnects(logging.Filter):
    """pgqueuer logs a traceback for every query its dropped connection fails (a heartbeat
    flush every few seconds while a training goes on); the trainer's own outage line
    already says so, once."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is None or not is_disconnect(error)


class Trainer:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage
        self.owner = identity("trainer")
        self.process: TrainingProcess | None = None
        self.run_id: int | None = None
        self._one_at_a_time = asyncio.Lock()
        self._shutdown: asyncio.Event | None = None  # the current queue manager's

    @property
    def lease_s(self) -> float:
        return self.settings.training_lease_s

    @property
    def _dead_after_s(self) -> float:
        return MISSED_BEATS * self.settings.trainer_heartbeat_s

    async def serve(self, stop: asyncio.Event) -> None:
        """Take jobs until ``stop`` is set, through any number of database outages."""
        await retry(lambda: fail_abandoned(self.storage, self.owner, NO_TRAINER),
                    "failing abandoned runs")  # fmt: skip
        beats = Heartbeat(
            ReplicaQueries(self.storage.session_maker),
            lambda: None,
            self.settings.trainer_heartbeat_s,
            self.settings.replica_forget_s,
            role=TRAINER,
            process_id=self.owner,  # its runs' owner: a silent row names the dead owner
        )
        await beats.start()
        patrol = asyncio.create_task(self._patrol(), name="trainer-patrol")
        stopper = asyncio.create_task(self._stop_on(stop), name="trainer-stopper")
        outage = Outage("the job queue's database connection")
        logging.getLogger("pgqueuer").addFilter(QuietDisconnects())
        log.info("trainer %s is waiting for training jobs", self.owner)
        try:
            while not stop.is_set():
                try:
                    await self._take_jobs(outage)
                except Exception as exc:
                    # A trainer never exits on its own: a lost connection is the expected
                    # case; anything else (a driver in a state it should not be in after
                    # a drop) also gets a new connection, with its traceback logged once.
                    if not is_disconnect(exc) and not outage.down:
                        log.exception("the job queue failed; starting it again")
                    outage.lost(exc)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), outage.delay())
        finally:
            for task in (patrol, stopper):
                task.cancel()
            await asyncio.gather(patrol, stopper, return_exceptions=True)
            await beats.stop()

    async def _take_jobs(self, outage: Outage) -> None:
        """One connection's life: LISTEN for jobs and take them until it is lost (raises)
        or the trainer stops (returns).

        pgqueuer ends its run on the first query that fails on a dropped connection; a
        training in progress goes on meanwhile (it uses the bot's own pool, which
        reconnects), and its job, left "picked" without heartbeats, is re-picked by the
        next connection's queue manager: its run is no longer ``queued`` by then, so
        that pick only finishes the job.
        """
        connection = await queue.connect(self.settings.database_url)
        outage.back()
        manager = queue.queue_manager(connection)

        # One training at a time (the database allows one live run anyway); the lock
        # keeps this process's one training state even if the queue hands over two.
        @manager.entrypoint(queue.TRAIN, concurrency_limit=1)
        async def train(job: Job) -> None:
            run_id = queue.run_id_of(job.payload)
            if run_id is None:
                log.warning("ignored a training job without a run id")
                return
            async with self._one_at_a_time:
                await self.train(run_id)

        self._shutdown = manager.shutdown
        try:
            await manager.run(
                dequeue_timeout=timedelta(seconds=DEQUEUE_TIMEOUT_S),
                batch_size=1,
                max_concurrent_tasks=2,
                # A dead trainer's picked job holds the entrypoint's one slot, for every
                # trainer, until pgqueuer finds it stale: as soon as the trainer is
                # dead by its own heartbeat (or its lease, if shorter), not when a long
                # lease would run out.
                heartbeat_timeout=timedelta(seconds=min(self.lease_s, self._dead_after_s)),
            )
        finally:
            self._shutdown = None
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    async def _stop_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        log.info("stopping: the training in progress, if any, is cancelled")
        if self.run_id is not None:
            with contextlib.suppress(Exception):
                await self.storage.transition_training_run(
                    self.run_id,
                    {TrainingStatus.QUEUED, TrainingStatus.RUNNING},
                    TrainingStatus.FAILED,
                    error=STOPPED,
                )
        if self.process is not None:
            await self.process.cancel(grace_s=5.0)
        if self._shutdown is not None:
            self._shutdown.set()

    async def _patrol(self) -> None:
        """Another trainer's death is noticed here too (not only by the bot)."""
        while True:
            await asyncio.sleep(min(self.lease_s, PATROL_S))
            try:
                await fail_abandoned(self.storage, self.owner, NO_TRAINER)
            except Exception as exc:
                log.warning("patrol: %s", describe(exc))

    async def train(self, run_id: int) -> None:
        out = self.settings.checkpoint_dir / f"run-{run_id}.pt"
        claimed = await retry(
            lambda: self.storage.claim_queued_run(run_id, self.owner, self.lease_s, str(out)),
            f"run {run_id}: claiming",
        )
        if claimed is None:
            await self._resume_finishing(run_id)
            return
        log.info("training run %d", run_id)
        progress = ProgressWriter(self.storage, run_id, self.owner)
        recipe = recorded_settings(self.settings, claimed.settings)
        self.run_id = run_id
        try:
            async with heartbeat(self.storage, run_id, self.owner, self.lease_s, self._on_beat):
                run = await run_training(
                    run_id,
                    self.storage,
                    recipe,
                    on_event=progress.on_event,
                    on_process=self._set_process,
                )
                await progress.write()
                if run.status is TrainingStatus.FINISHING:
                    await self._finish(run_id, progress, recipe)
        except Exception as exc:  # never a live row without a driver
            log.exception("training run %d: unexpected error", run_id)
            with contextlib.suppress(Exception):
                await self.storage.transition_training_run(
                    run_id,
                    {TrainingStatus.QUEUED, TrainingStatus.RUNNING, TrainingStatus.FINISHING},
                    TrainingStatus.FAILED,
                    error=describe(exc),
                )
        finally:
            if self.process is not None:
                self.process.kill()
            self.process, self.run_id = None, None
        # Checkpoints of runs that ended without a version (and of killed predecessors).
        await cleanup.collect_checkpoints(self.storage, self.settings.checkpoint_dir)
        s = self.settings
        await cleanup.prune_versions(self.storage, s.checkpoint_dir, s.model_versions_keep)
        final = await self.storage.get_training_run(run_id)
        log.info("training run %d ended: %s", run_id, final.status.value if final else "gone")

    async def _resume_finishing(self, run_id: int) -> None:
        run = await self.storage.get_training_run(run_id)
        if run is None or run.status is not TrainingStatus.FINISHING:
            return  # finished, cancelled, or failed after its trainer died: nothing to do
        dead = await dead_owners(self.storage, self.owner)
        if await self.storage.take_over_finishing(run_id, self.owner, self.lease_s, dead):
            async with heartbeat(self.storage, run_id, self.owner, self.lease_s):
                recipe = recorded_settings(self.settings, run.settings)
                await self._finish(run_id, ProgressWriter(self.storage, run_id, self.owner), recipe)

    def _set_process(self, process: TrainingProcess) -> None:
        self.process = process

    async def _on_beat(self, run: TrainingRun) -> None:
        lost = run.owner != self.owner or run.status not in (
            TrainingStatus.RUNNING,
            TrainingStatus.QUEUED,
            TrainingStatus.FINISHING,
        )
        if lost and self.process is not None and self.process.alive:
            log.info("run %d is %s: stopping its training", run.id, run.status.value)
            await self.process.cancel(grace_s=5.0)

    async def _finish(self, run_id: int, progress: ProgressWriter, recipe: Settings) -> None:
        active = await self._active_checkpoint()

        async def nothing_to_swap() -> None:
            # No engine here: the bot replicas load the new active version themselves.
            return None

        await finish(
            run_id,
            self.storage,
            recipe,
            active=lambda: active,
            make_live=nothing_to_swap,
            on_judged=progress.on_judged,
        )

    async def _active_checkpoint(self) -> Checkpoint:
        version = await retry(self.storage.active_model_version, "reading the active version")
        if version is None:
            raise CheckpointError("there is no active model version to compare with")
        path = await checkpoint_file(
            self.storage,
            self.settings.checkpoint_dir,
            version.checkpoint_path,
            version.checkpoint_sha256,
        )
        return await asyncio.to_thread(load_checkpoint, path, self.settings.device)


# The run row's training settings (recorded by the bot that queued it) -> RETRAIN_*.
_RECORDED = {
    "steps": "retrain_steps",
    "seq_len": "retrain_seq_len",
    "batch_size": "retrain_batch_size",
    "lr": "retrain_lr",
    "val_fraction": "retrain_val_fraction",
    "embed_size": "retrain_embed_size",
    "hidden_size": "retrain_hidden_size",
}


def recorded_settings(settings: Settings, recorded: dict[str, object]) -> Settings:
    """This trainer's settings with the run's own recipe: what the admin asked for is
    what is trained, whatever this host's RETRAIN_* say (its device and threads stay)."""
    update = {field: recorded[key] for key, field in _RECORDED.items() if key in recorded}
    return settings.model_copy(update=update)


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
