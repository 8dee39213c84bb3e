"""The training job: a function of (run id, storage, settings) that can run anywhere.

It takes a ``queued`` run, starts the trainer (``python -m model train`` as a child
process), moves the row to ``running``, streams progress to whoever listens, and ends
the training phase with exactly one guarded transition: ``running -> finishing`` (the
checkpoint is complete and recorded), ``-> failed`` (with a one-line cause) or, when
the trainer stopped on a cancel, ``-> cancelled``. A cancel is itself a transition
written by someone else; when it wins, this job's own transition loses and the job
only cleans up. Nothing here knows Telegram or the engine, so the same function can be
run by a trainer process on another host (take the job from a queue).

The training phase may be several children in turn (:func:`phases`): a /retrain that
may fine-tune trains both candidates, fine-tuned and fresh, then ``python -m
model.appraise`` keeps the better one (or says the active model beat both) and adds the
realism figures to its metrics. Each child is handed to ``on_process`` as it starts,
so a cancel stops whichever runs; the whole phase stays one unit: it ends with the one
transition above, and the row is checked between children.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot import metrics
from bot.settings.config import Settings
from bot.storage import Storage, TrainingRun, TrainingStatus
from bot.storage.schema import LIVE_STATUSES
from bot.texts.worded import Worded
from bot.training.blobs import (
    checkpoint_file,
    corpus_cache,
    corpus_file,
    local_file,
    store_file,
)
from bot.training.cleanup import discard_checkpoint_if_unreferenced, discard_temporaries_of
from bot.training.plan import PLAN_KEYS
from bot.training.process import (
    AppraisalArgs,
    Command,
    TrainingArgs,
    TrainingOutcome,
    TrainingProcess,
)
from bot.training.retry import describe, retry
from model.files import sweep_temporary_files

log = logging.getLogger(__name__)

OnEvent = Callable[[dict[str, Any]], Awaitable[None]]
OnProcess = Callable[[TrainingProcess], None]
OnWait = Callable[[str], Awaitable[None]]


def training_args(
    settings: Settings, corpus_path: str, out: Path, plan: dict[str, Any] | None = None
) -> TrainingArgs:
    """``plan``: the run's fine-tune-or-fresh choice (bot/training/plan.py)."""
    s = settings
    plan = {k: v for k, v in (plan or {}).items() if k in PLAN_KEYS}
    fixed = s.retrain_steps if isinstance(s.retrain_steps, int) else 2000
    init = plan.get("init_checkpoint") if plan.get("method") == "finetune" else None
    replay = plan.get("replay_corpus") if init else None
    return TrainingArgs(
        corpus=Path(corpus_path),
        out=out,
        steps=s.retrain_steps,
        seq_len=s.retrain_seq_len,
        batch_size=s.retrain_batch_size,
        # the recipe's own rate (and fine-tuning's) unless RETRAIN_LR is set
        lr=s.retrain_lr
        if s.retrain_recipe == "reference" or "retrain_lr" in s.model_fields_set
        else None,
        val_fraction=s.retrain_val_fraction,
        embed_size=s.retrain_embed_size,
        hidden_size=s.retrain_hidden_size,
        device=s.retrain_device or s.device,
        eval_every=max(1, fixed // 20),
        log_every=max(1, fixed // 100),
        threads=s.retrain_threads,
        recipe=s.retrain_recipe,
        time_budget_s=s.retrain_time_budget_s,
        init=Path(init) if init else None,
        replay=Path(replay) if replay else None,
        plan=plan,
    )


def phases(
    settings: Settings, corpus_path: str, out: Path, plan: dict[str, Any] | None = None
) -> list[Command]:
    """The children a run's training phase runs in turn; the last one writes ``out``."""
    plan = dict(plan or {})
    realism = settings.retrain_realism_words
    corpus = Path(corpus_path)

    def appraisal(candidates: dict[str, Path], base: Path | None) -> AppraisalArgs:
        return AppraisalArgs(
            corpus=corpus, out=out, candidates=candidates, base=base,
            val_fraction=settings.retrain_val_fraction, realism_words=realism,
            temperature=settings.default_temperature, length=settings.default_length,
            device=settings.retrain_device or settings.device, threads=settings.retrain_threads,
        )  # fmt: skip

    if not (plan.get("contest") and plan.get("method") == "finetune"):
        one = training_args(settings, corpus_path, out, plan)
        return [one, appraisal({"trained": out}, None)] if realism else [one]
    tuned, fresh = candidate_path(out, "finetune"), candidate_path(out, "fresh")
    return [
        training_args(settings, corpus_path, tuned, plan),
        training_args(settings, corpus_path, fresh, {"method": "fresh"}),
        appraisal({"finetune": tuned, "fresh": fresh}, Path(plan["init_checkpoint"])),
    ]


def candidate_path(out: Path, name: str) -> Path:
    """Where a contest's candidate is written (deleted once the winner is in ``out``)."""
    return out.with_name(f"{out.stem}-{name}{out.suffix}")


async def _local_plan(
    storage: Storage, settings: Settings, plan: dict[str, Any] | None
) -> dict[str, Any]:
    """The run's plan with its files made local: a trainer on another host has neither
    the active checkpoint nor the previous corpus on disk, so both come from the
    database by SHA-256."""
    plan = dict(plan or {})
    if plan.get("init_sha256"):
        init = await checkpoint_file(
            storage, settings.checkpoint_dir, plan.get("init_checkpoint"), plan["init_sha256"]
        )
        plan["init_checkpoint"] = str(init)
    if plan.get("replay_sha256"):
        cache = corpus_cache(settings.corpus_dir, plan["replay_sha256"])
        named = Path(plan["replay_corpus"]) if plan.get("replay_corpus") else None
        found = await local_file(storage, plan["replay_sha256"], named, cache)
        if found is not None:
            plan["replay_corpus"] = str(found)
    return plan


class RunGone(Exception):
    """The run's row is missing: nothing can be recorded."""


async def run_training(
    run_id: int,
    storage: Storage,
    settings: Settings,
    *,
    on_event: OnEvent | None = None,
    on_process: OnProcess | None = None,
    on_wait: OnWait | None = None,
) -> TrainingRun:
    """Train a ``queued`` run; returns its row after the training phase.

    The returned row is ``finishing`` (go on with :func:`bot.training.finishing.finish`)
    or final. Transient database faults are retried; the row is never left ``running``
    once this returns or raises anything but CancelledError.
    """
    run = await retry(lambda: storage.get_training_run(run_id), "reading the run", on_wait)
    if run is None:
        raise RunGone(run_id)
    if run.status is not TrainingStatus.QUEUED:
        return run
    corpus = await retry(lambda: storage.get_corpus(run.corpus_id), "reading the corpus", on_wait)
    out = Path(run.checkpoint_path or settings.checkpoint_dir / f"run-{run.id}.pt")
    # Before each training: a previous trainer killed mid-write left its temporary file.
    swept = sweep_temporary_files(out.parent)
    if swept:
        log.info("removed %d stale temporary file(s) from %s", len(swept), out.parent)
    if corpus is None:
        return await _end(storage, run_id, TrainingStatus.FAILED, "its corpus was deleted", on_wait)
    try:
        # on another host the corpus is fetched from the database (verified).
        corpus_path = await corpus_file(storage, settings.corpus_dir, corpus)
        plan = await _local_plan(storage, settings, run.settings)
        children = phases(settings, str(corpus_path), out, plan)
        process = TrainingProcess(children[0])
        out.parent.mkdir(parents=True, exist_ok=True)
        await process.start()
    except OSError as exc:
        return await _end(storage, run_id, TrainingStatus.FAILED, describe(exc), on_wait)
    if on_process is not None:
        on_process(process)
    try:
        started = await retry(
            lambda: storage.transition_training_run(
                run_id, {TrainingStatus.QUEUED}, TrainingStatus.RUNNING
            ),
            f"run {run_id}: queued -> running",
            on_wait,
        )
        if started is None:  # cancelled before it started
            await process.cancel(grace_s=5.0)
            return await _settled(storage, run_id, out)
        outcome = await _run_phases(
            storage, run_id, process, children, on_event=on_event, on_process=on_process
        )
    except BaseException:
        process.kill()
        raise
    finally:
        metrics.TRAINING_PROGRESS.set(0)
        for child in children[:-1]:  # a contest's candidates: the winner is in ``out``
            if isinstance(child, TrainingArgs) and child.out != out:
                child.out.unlink(missing_ok=True)
                discard_temporaries_of(child.out)
    return await _after_training(storage, run_id, out, outcome, on_wait)


async def _run_phases(
    storage: Storage,
    run_id: int,
    first: TrainingProcess,
    children: list[Command],
    *,
    on_event: OnEvent | None,
    on_process: OnProcess | None,
) -> TrainingOutcome:
    """Run ``first`` (started) and then each later child while the row stays running.

    Progress is reported as one bar over the training children; the loss history kept
    for the curve is the kept candidate's.
    """
    trainings = sum(isinstance(c, TrainingArgs) for c in children)
    histories: list[list[dict[str, Any]]] = []
    process, outcome = first, TrainingOutcome(status="failed")
    for index, child in enumerate(children):
        if index:
            run = await retry(lambda: storage.get_training_run(run_id), "reading the run")
            if run is None or run.status is not TrainingStatus.RUNNING:
                return TrainingOutcome(status="cancelled")
            process = TrainingProcess(child)
            try:
                await process.start()
            except OSError as exc:
                return TrainingOutcome(status="failed", error=describe(exc))
            if on_process is not None:
                on_process(process)
        tracked = _tracking_progress(on_event)
        try:
            outcome = await process.run(
                on_event=_scaled(tracked, index, trainings) if index < trainings else tracked
            )
        except BaseException:
            process.kill()
            raise
        histories.append(outcome.history)
        if outcome.status != "succeeded":
            return outcome
    if len(histories) > 1 and outcome.done is not None:
        names = [n for c in children if isinstance(c, AppraisalArgs) for n in c.candidates]
        kept = outcome.done.get("kept")
        outcome.history = histories[names.index(kept)] if kept in names else histories[0]
    return outcome


def _scaled(on_event: OnEvent, index: int, count: int) -> OnEvent:
    """``on_event`` with the progress of child ``index`` of ``count`` as one bar."""
    if count <= 1:
        return on_event

    async def scaled(event: dict[str, Any]) -> None:
        step, total = event.get("step"), event.get("total_steps")
        if event.get("event") == "progress" and isinstance(step, int) and isinstance(total, int):
            event = {**event, "step": index * total + step, "total_steps": count * total}
        await on_event(event)

    return scaled


def _tracking_progress(on_event: OnEvent | None) -> OnEvent:
    """``on_event`` that also sets the progress gauge from the child's progress lines."""

    async def tracked(event: dict[str, Any]) -> None:
        step, total = event.get("step"), event.get("total_steps")
        if event.get("event") == "progress" and isinstance(step, int) and total:
            metrics.TRAINING_PROGRESS.set(min(1.0, step / float(total)))
        if on_event is not None:
            await on_event(event)

    return tracked


async def _after_training(
    storage: Storage, run_id: int, out: Path, outcome: TrainingOutcome, on_wait: OnWait | None
) -> TrainingRun:
    if outcome.status == "succeeded" and outcome.done is not None:
        done = outcome.done
        try:  # in the database before the row says "finishing", for any host
            stored = await store_file(storage, out)
        except OSError as exc:
            return await _end(storage, run_id, TrainingStatus.FAILED, describe(exc), on_wait, out)
        if done.get("sha256") and stored != done.get("sha256"):
            cause = "the new checkpoint changed on disk after training"
            return await _end(storage, run_id, TrainingStatus.FAILED, cause, on_wait, out)
        finishing = await retry(
            lambda: storage.transition_training_run(
                run_id,
                {TrainingStatus.RUNNING},
                TrainingStatus.FINISHING,
                checkpoint_sha256=str(done.get("sha256") or ""),
                final_train_loss=_number(done.get("train_loss")),
                final_val_loss=_number(done.get("val_loss")),
            ),
            f"run {run_id}: running -> finishing",
            on_wait,
        )
        if finishing is not None:
            return finishing
        return await _settled(storage, run_id, out)  # a cancel won the race
    if outcome.status == "cancelled":
        await retry(
            lambda: storage.transition_training_run(
                run_id, LIVE_STATUSES - {TrainingStatus.FINISHING}, TrainingStatus.CANCELLED,
                error=Worded("run_cancelled").stored(),
            ),
            f"run {run_id}: -> cancelled",
            on_wait,
        )  # fmt: skip
        return await _settled(storage, run_id, out)
    cause = outcome.error or Worded("run_unfinished").stored()
    return await _end(storage, run_id, TrainingStatus.FAILED, cause, on_wait, out)


async def _end(
    storage: Storage,
    run_id: int,
    status: TrainingStatus,
    cause: str,
    on_wait: OnWait | None,
    out: Path | None = None,
) -> TrainingRun:
    await retry(
        lambda: storage.transition_training_run(
            run_id, LIVE_STATUSES - {TrainingStatus.FINISHING}, status, error=cause
        ),
        f"run {run_id}: -> {status.value}",
        on_wait,
    )
    return await _settled(storage, run_id, out)


async def _settled(storage: Storage, run_id: int, out: Path | None) -> TrainingRun:
    """The run's row after its training phase; its checkpoint deleted if nothing needs it."""
    run = await retry(lambda: storage.get_training_run(run_id), "reading the run")
    if run is None:
        raise RunGone(run_id)
    if out is not None and run.status is not TrainingStatus.FINISHING:
        await discard_checkpoint_if_unreferenced(storage, out)
        discard_temporaries_of(out)
    return run


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
