"""The steps after training, each idempotent, so any of them can be retried or resumed.

A ``finishing`` run has a complete checkpoint (its SHA-256 is in the row). From there:

1. load and verify the checkpoint, judge it against the active model (pure);
2. register it as a model version and link the run to it, in one transaction that a
   retry finds already done (``register_run_version``), activating it if judged fit;
3. make the engine serve whatever the database says is active (``make_live``);
4. ``finishing -> succeeded``.

Database faults are retried with backoff (``retry``); a step that cannot succeed
(unusable checkpoint, corpus gone) ends the run ``failed``. A restart finds the row
still ``finishing`` and calls :func:`finish` again: the steps already done are found
done. The checkpoint file is never deleted here while a version row refers to it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.settings.config import Settings
from bot.storage import ModelVersion, Storage, TrainingRun, TrainingRunStateError, TrainingStatus
from bot.training.blobs import checkpoint_file, corpus_text
from bot.training.cleanup import discard_checkpoint_if_unreferenced
from bot.training.judge import Verdict, judge
from bot.training.retry import describe, retry
from model.checkpoint import Checkpoint, load_checkpoint
from model.errors import ModelError

log = logging.getLogger(__name__)

PhaseHook = Callable[[int, str], Awaitable[None]]
OnWait = Callable[[str], Awaitable[None]]

# The phases a test can stop at (the hook runs after the step named).
PHASES = ("judged", "registered", "swapped", "succeeded")


@dataclass
class Finished:
    run: TrainingRun
    version: ModelVersion | None = None
    verdict: Verdict | None = None
    checkpoint: Checkpoint | None = None
    text: str | None = None


async def finish(
    run_id: int,
    storage: Storage,
    settings: Settings,
    *,
    active: Callable[[], Checkpoint],
    make_live: Callable[[], Awaitable[None]],
    on_wait: OnWait | None = None,
    hook: PhaseHook | None = None,
    on_judged: Callable[[Verdict], Awaitable[None]] | None = None,
) -> Finished:
    """Carry a ``finishing`` run to its final state; a run in any other state is returned."""

    async def phase(name: str) -> None:
        if hook is not None:
            await hook(run_id, name)

    run = await _read(storage, run_id, on_wait)
    if run.status is not TrainingStatus.FINISHING:
        return Finished(run)
    try:
        checkpoint, text = await _load(storage, settings, run)
        verdict = await asyncio.to_thread(
            judge, checkpoint, active(), text, settings.retrain_val_fraction,
            settings.retrain_seq_len,
        )  # fmt: skip
    except (ModelError, OSError) as exc:
        return Finished(await fail(storage, run, describe(exc), on_wait))
    if on_judged is not None:  # a trainer records it for the bot's outcome
        await on_judged(verdict)
    await phase("judged")
    try:
        version = await retry(
            lambda: storage.register_run_version(
                run_id,
                checkpoint_path=str(run.checkpoint_path),
                checkpoint_sha256=checkpoint.sha256 or "",
                corpus_sha256=str(checkpoint.metrics.get("corpus_sha256") or ""),
                corpus_chars=int(checkpoint.metrics.get("corpus_chars") or len(text)),
                vocab_size=len(checkpoint.vocab),
                steps=int(checkpoint.metrics.get("steps", 0)),
                train_loss=_finite(checkpoint.metrics.get("train_loss")),
                val_loss=_finite(verdict.new_val),
                corpus_id=run.corpus_id,
                activate=verdict.accept,
            ),
            f"run {run_id}: registering the version",
            on_wait,
        )
    except TrainingRunStateError:  # someone else ended the run meanwhile
        return Finished(await _read(storage, run_id, on_wait))
    await phase("registered")
    await make_live()
    await phase("swapped")
    done = await retry(
        lambda: storage.transition_training_run(
            run_id,
            {TrainingStatus.FINISHING},
            TrainingStatus.SUCCEEDED,
            model_version_id=version.id,
            error=None,
        ),
        f"run {run_id}: finishing -> succeeded",
        on_wait,
    )
    await phase("succeeded")
    final = done or await _read(storage, run_id, on_wait)
    return Finished(final, version, verdict, checkpoint, text)


async def fail(
    storage: Storage, run: TrainingRun, cause: str, on_wait: OnWait | None = None
) -> TrainingRun:
    """``finishing -> failed``; the checkpoint goes only if no version came to refer to it."""
    log.warning("training run %d failed while finishing: %s", run.id, cause)
    await retry(
        lambda: storage.transition_training_run(
            run.id, {TrainingStatus.FINISHING}, TrainingStatus.FAILED, error=cause
        ),
        f"run {run.id}: finishing -> failed",
        on_wait,
    )
    if run.checkpoint_path:
        await discard_checkpoint_if_unreferenced(storage, run.checkpoint_path)
    return await _read(storage, run.id, on_wait)


async def _load(storage: Storage, settings: Settings, run: TrainingRun) -> tuple[Checkpoint, str]:
    if not run.checkpoint_path:
        raise ModelError("the run recorded no checkpoint")
    path = await checkpoint_file(
        storage, settings.checkpoint_dir, run.checkpoint_path, run.checkpoint_sha256
    )
    checkpoint = await asyncio.to_thread(load_checkpoint, path, settings.device)
    if run.checkpoint_sha256 and checkpoint.sha256 != run.checkpoint_sha256:
        raise ModelError("the new checkpoint changed on disk after training")
    corpus = await retry(lambda: storage.get_corpus(run.corpus_id), "reading the corpus")
    if corpus is None:
        raise ModelError("its corpus was deleted")
    return checkpoint, await corpus_text(storage, settings.corpus_dir, corpus)


async def _read(storage: Storage, run_id: int, on_wait: OnWait | None) -> TrainingRun:
    run = await retry(lambda: storage.get_training_run(run_id), "reading the run", on_wait)
    if run is None:
        raise LookupError(f"training run {run_id} does not exist")
    return run


def _finite(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
