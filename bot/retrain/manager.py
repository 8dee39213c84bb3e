"""One training at a time: start it, report progress, judge the result, swap it in.

A run's life: stored corpus -> ``running`` row -> child process (progress edited into the
admin's status message at most every ``PROGRESS_EDIT_INTERVAL_S``) -> checkpoint loaded
and compared with the active model on the new corpus's validation tail -> a model
version (activated and hot-swapped if no worse) -> ``succeeded``; or ``failed`` /
``cancelled`` with the reason, the serving model untouched throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.config import Settings
from bot.retrain.corpora import read_stored
from bot.retrain.plot import loss_curve_png
from bot.retrain.process import TrainingArgs, TrainingOutcome, TrainingProcess
from bot.storage import Corpus, ModelVersion, Storage, TrainingStatus, make_settings_key
from model.checkpoint import Checkpoint, load_checkpoint
from model.engine import GenerationEngine
from model.errors import CheckpointError, CorpusError, ModelError
from model.sample import sample
from model.train import evaluate_known, split_text

log = logging.getLogger(__name__)

# The old model must know this share of the validation text's characters to be compared.
MIN_COVERAGE = 0.99


@dataclass
class ActiveRun:
    run_id: int
    corpus: Corpus
    process: TrainingProcess
    chat_id: int
    status_message_id: int | None
    started: float = field(default_factory=time.monotonic)
    last: dict[str, Any] | None = None
    last_edit: float = 0.0
    task: asyncio.Task[None] | None = None
    cancel_reason: str = "cancelled by an admin"


@dataclass(frozen=True)
class Comparison:
    new_val: float
    old_val: float | None  # None: the active model cannot be compared on this text
    coverage: float

    @property
    def accept(self) -> bool:
        if not math.isfinite(self.new_val):
            return False
        return self.old_val is None or self.new_val <= self.old_val + 1e-9


def progress_text(run_id: int, event: dict[str, Any] | None, started: float) -> str:
    if event is None or event.get("event") != "progress":
        return f"Training run #{run_id}: starting…"
    step, total = int(event["step"]), int(event["total_steps"])
    width = 20
    filled = round(width * step / total)
    val = event.get("val_loss")
    val_part = f" · val {val:.3f}" if isinstance(val, int | float) else ""
    return (
        f"Training run #{run_id}\n"
        f"[{'█' * filled}{'░' * (width - filled)}] {step / total:.0%}\n"
        f"step {step}/{total} · loss {float(event['train_loss']):.3f}{val_part}\n"
        f"elapsed {_clock(time.monotonic() - started)} · ETA {_clock(float(event['eta_s']))}"
    )


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class RetrainManager:
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
        self.current: ActiveRun | None = None
        self._lock = asyncio.Lock()  # serialises swaps (/use and the end of a run)

    # ---------------------------------------------------------------- starting

    def training_args(self, corpus: Corpus, run_id: int) -> TrainingArgs:
        s = self.settings
        return TrainingArgs(
            corpus=Path(corpus.path),
            out=s.checkpoint_dir / f"run-{run_id}.pt",
            steps=s.retrain_steps,
            seq_len=s.retrain_seq_len,
            batch_size=s.retrain_batch_size,
            lr=s.retrain_lr,
            val_fraction=s.retrain_val_fraction,
            embed_size=s.retrain_embed_size,
            hidden_size=s.retrain_hidden_size,
            device=s.retrain_device or s.device,
            eval_every=max(1, s.retrain_steps // 20),
            log_every=max(1, s.retrain_steps // 100),
            threads=s.retrain_threads,
        )

    def settings_key(self, corpus: Corpus) -> str:
        return make_settings_key(corpus.sha256, self.training_args(corpus, 0).settings())

    @property
    def running(self) -> bool:
        return self.current is not None

    def status(self) -> str:
        run = self.current
        if run is None:
            return "No training is running."
        return progress_text(run.run_id, run.last, run.started)

    async def start(
        self, corpus: Corpus, started_by: int, chat_id: int, status_message_id: int | None
    ) -> int:
        """Record the run and launch it in the background; returns the run id.

        Raises TrainingAlreadyRunningError (from storage) if one is running.
        """
        args0 = self.training_args(corpus, 0)
        run_id = await self.storage.start_training_run(
            started_by, corpus.id, args0.settings(), self.settings_key(corpus)
        )
        process = TrainingProcess(self.training_args(corpus, run_id))
        run = ActiveRun(run_id, corpus, process, chat_id, status_message_id)
        self.current = run
        run.task = asyncio.create_task(self._run(run), name=f"training-run-{run_id}")
        return run_id

    async def cancel(self) -> bool:
        run = self.current
        if run is None:
            return False
        await run.process.cancel()
        if run.task is not None:
            await asyncio.gather(run.task, return_exceptions=True)
        return True

    async def shutdown(self) -> None:
        """On bot stop: a running training is stopped and recorded as cancelled."""
        run = self.current
        if run is None:
            return
        run.cancel_reason = "the bot was stopped"
        await run.process.cancel(grace_s=5.0)
        if run.task is not None:
            try:
                await asyncio.wait_for(asyncio.gather(run.task, return_exceptions=True), 15)
            except TimeoutError:
                run.task.cancel()  # the row stays "running"; start-up marks it failed

    # ------------------------------------------------------------- the run

    async def _run(self, run: ActiveRun) -> None:
        try:
            await run.process.start()
            outcome = await run.process.run(on_event=lambda e: self._on_event(run, e))
            await self._finish(run, outcome)
        except Exception as exc:  # never let a run die silently or leave a "running" row
            log.exception("training run %d failed", run.run_id)
            run.process.kill()
            await self._record_failure(run, f"internal error: {exc}")
        finally:
            self.current = None

    async def _on_event(self, run: ActiveRun, event: dict[str, Any]) -> None:
        if event.get("event") != "progress":
            return
        run.last = event
        now = time.monotonic()
        final = event.get("step") == event.get("total_steps")
        if now - run.last_edit >= self.settings.progress_edit_interval_s or final:
            run.last_edit = now
            await self._edit_status(run, progress_text(run.run_id, event, run.started))

    async def _edit_status(self, run: ActiveRun, text: str) -> None:
        if run.status_message_id is None:
            return
        try:
            await self.bot.edit_message_text(
                text, chat_id=run.chat_id, message_id=run.status_message_id
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.warning("could not edit the training status message: %s", exc)
        except TelegramError as exc:
            log.warning("could not edit the training status message: %s", exc)

    async def _say(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        try:
            await self.bot.send_message(chat_id, text, reply_markup=markup)
        except TelegramError as exc:
            log.warning("could not message admin chat %s: %s", chat_id, exc)

    async def _record_failure(self, run: ActiveRun, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.storage.finish_training_run(run.run_id, TrainingStatus.FAILED, error=reason)
        Path(run.process.args.out).unlink(missing_ok=True)
        await self._edit_status(run, f"Training run #{run.run_id} failed.")
        await self._say(
            run.chat_id,
            f"Training run #{run.run_id} failed: {reason}\n"
            f"Version {self.active_version} keeps serving.",
        )

    async def _finish(self, run: ActiveRun, outcome: TrainingOutcome) -> None:
        if outcome.status == "cancelled":
            Path(run.process.args.out).unlink(missing_ok=True)
            await self.storage.finish_training_run(
                run.run_id, TrainingStatus.CANCELLED, error=run.cancel_reason
            )
            await self._edit_status(run, f"Training run #{run.run_id} was cancelled.")
            return
        if outcome.status != "succeeded" or outcome.done is None:
            await self._record_failure(run, outcome.error or "the training did not finish")
            return
        done = outcome.done
        try:
            checkpoint = await asyncio.to_thread(
                load_checkpoint, run.process.args.out, self.settings.device
            )
        except CheckpointError as exc:
            await self._record_failure(run, f"the new checkpoint is unusable: {exc}")
            return
        if checkpoint.sha256 != done.get("sha256"):
            await self._record_failure(run, "the new checkpoint changed on disk after training")
            return
        text = await read_stored(run.corpus)
        comparison = await asyncio.to_thread(self._compare, checkpoint, text)
        async with self._lock:
            version = await self._register(run, checkpoint, comparison)
            if comparison.accept:
                await self.engine.swap(checkpoint, version.id)
                self.active_checkpoint, self.active_version = checkpoint, version.id
        await self.storage.finish_training_run(
            run.run_id,
            TrainingStatus.SUCCEEDED,
            model_version_id=version.id,
            final_train_loss=done.get("train_loss"),
            final_val_loss=done.get("val_loss"),
        )
        await self._edit_status(run, progress_text(run.run_id, run.last, run.started) + "\nDone.")
        await self._report(run, outcome, checkpoint, version, comparison, text)

    def _compare(self, checkpoint: Checkpoint, text: str) -> Comparison:
        _, val_text = split_text(text, self.settings.retrain_val_fraction)
        if len(val_text) < 2:
            val_text = text
        seq_len = self.settings.retrain_seq_len
        new_val = _loss_on(checkpoint, val_text, seq_len)[0]
        old_val, coverage = _loss_on(self.active_checkpoint, val_text, seq_len)
        return Comparison(new_val, old_val if coverage >= MIN_COVERAGE else None, coverage)

    async def _register(
        self, run: ActiveRun, checkpoint: Checkpoint, comparison: Comparison
    ) -> ModelVersion:
        metrics = checkpoint.metrics
        return await self.storage.register_model_version(
            checkpoint_path=str(run.process.args.out),
            checkpoint_sha256=checkpoint.sha256 or "",
            corpus_sha256=run.corpus.sha256,
            corpus_chars=run.corpus.chars,
            vocab_size=len(checkpoint.vocab),
            steps=int(metrics.get("steps", 0)),
            train_loss=_finite_or_none(metrics.get("train_loss")),
            val_loss=_finite_or_none(comparison.new_val),
            corpus_id=run.corpus.id,
            note=f"training run {run.run_id}",
            activate=comparison.accept,
        )

    async def _report(
        self,
        run: ActiveRun,
        outcome: TrainingOutcome,
        checkpoint: Checkpoint,
        version: ModelVersion,
        comparison: Comparison,
        text: str,
    ) -> None:
        png = await asyncio.to_thread(
            loss_curve_png, outcome.history, f"Training run #{run.run_id} → version {version.id}"
        )
        seed = text.strip().split("\n", 1)[0][:24] or text[:24]
        try:
            example = await asyncio.to_thread(
                sample, checkpoint.model, checkpoint.vocab, seed, 200, 0.8, None, 1
            )
            sample_text = example.text
        except ModelError as exc:
            sample_text = f"(no sample: {exc})"
        old = "n/a" if comparison.old_val is None else f"{comparison.old_val:.4f}"
        verdict = (
            f"Version {version.id} is now active."
            if comparison.accept
            else f"Version {version.id} is worse than the active version {self.active_version}, "
            "so it was stored but not activated."
        )
        caption = (
            f"Training run #{run.run_id} finished. {verdict}\n"
            f"Validation loss: new {comparison.new_val:.4f} vs active {old} nats/char"
            + (
                f" (the active model knows only {comparison.coverage:.0%} of the new text's "
                "characters, so it was not compared)"
                if comparison.old_val is None
                else ""
            )
        )
        try:
            await self.bot.send_photo(run.chat_id, png, caption=caption[:1024])
        except TelegramError as exc:
            log.warning("could not send the loss curve: %s", exc)
        markup = None
        if not comparison.accept:
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            "Activate anyway", callback_data=f"mv:use:{version.id}"
                        ),
                        InlineKeyboardButton("Discard", callback_data=f"mv:discard:{version.id}"),
                    ]
                ]
            )
        await self._say(
            run.chat_id, f"Sample from version {version.id}:\n\n{sample_text}"[:4000], markup
        )

    # ------------------------------------------------------------ versions

    async def activate(self, version_id: int) -> ModelVersion:
        """Swap a stored version in (rollback or "activate anyway"); raises on a bad id/file."""
        async with self._lock:
            version = await self.storage.get_model_version(version_id)
            if version is None:
                raise LookupError(f"there is no model version {version_id}.")
            checkpoint = await asyncio.to_thread(
                load_checkpoint, version.checkpoint_path, self.settings.device
            )
            if version.checkpoint_sha256 and checkpoint.sha256 != version.checkpoint_sha256:
                raise CheckpointError(
                    f"the checkpoint file of version {version_id} changed since it was registered."
                )
            await self.engine.swap(checkpoint, version.id)
            activated = await self.storage.activate_model_version(version.id)
            self.active_checkpoint, self.active_version = checkpoint, version.id
            return activated

    async def discard(self, version_id: int) -> None:
        """Forget a stored version that was never activated, and delete its file."""
        async with self._lock:
            if version_id == self.active_version:
                raise ValueError("the active version cannot be discarded.")
            version = await self.storage.discard_model_version(version_id)
            Path(version.checkpoint_path).unlink(missing_ok=True)


def _finite_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _loss_on(checkpoint: Checkpoint, text: str, seq_len: int) -> tuple[float, float]:
    """(loss on the characters the model knows, share of characters it knows)."""
    try:
        loss, kept = evaluate_known(checkpoint.model, checkpoint.vocab, text, seq_len)
    except CorpusError:
        return math.inf, sum(c in checkpoint.vocab for c in text) / max(1, len(text))
    return loss, len(kept) / max(1, len(text))
