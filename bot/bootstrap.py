"""Start-up: make sure there is an active model version, training the default if needed."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.config import Settings
from bot.storage import Storage
from model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from model.errors import CheckpointError
from model.text import read_corpus, sha256_text
from model.train import Progress, TrainConfig, train

log = logging.getLogger(__name__)


def _train_default(settings: Settings) -> Checkpoint:
    text = read_corpus(settings.corpus_path)
    config = TrainConfig(steps=settings.default_train_steps)
    every = max(1, config.steps // 10)

    def report(p: Progress) -> None:
        if p.step % every == 0 or p.step == p.total_steps:
            val = "" if p.val_loss is None else f" val loss {p.val_loss:.3f}"
            log.info(
                "training the default model: step %d/%d, loss %.3f%s, eta %.0fs",
                p.step, p.total_steps, p.train_loss, val, p.eta_s,
            )  # fmt: skip

    log.info(
        "no checkpoint yet: training the default model on %s (%d characters, %d steps)",
        settings.corpus_path, len(text), config.steps,
    )  # fmt: skip
    result = train(text, config, device=settings.device, on_progress=report)
    checkpoint = Checkpoint.from_result(result)
    save_checkpoint(checkpoint, settings.default_checkpoint)
    return checkpoint


async def ensure_active_model(settings: Settings, storage: Storage) -> tuple[Checkpoint, int]:
    """Load the active version; register the default checkpoint (training it) if none."""
    active = await storage.active_model_version()
    if active is not None:
        try:
            checkpoint = await asyncio.to_thread(
                load_checkpoint, active.checkpoint_path, settings.device
            )
            return checkpoint, active.id
        except CheckpointError as exc:
            log.error(
                "active model version %d cannot be loaded (%s); using the default", active.id, exc
            )

    path = settings.default_checkpoint
    if path.exists():
        checkpoint = await asyncio.to_thread(load_checkpoint, path, settings.device)
    else:
        checkpoint = await asyncio.to_thread(_train_default, settings)
    corpus_text = await asyncio.to_thread(read_corpus, settings.corpus_path)
    corpus_sha = sha256_text(corpus_text)
    corpus = await storage.find_corpus_by_sha(corpus_sha)
    if corpus is None:
        corpus = await storage.add_corpus(
            path=str(Path(settings.corpus_path)),
            sha256=corpus_sha,
            chars=len(corpus_text),
            size_bytes=len(corpus_text.encode("utf-8")),
            source="default",
            uploaded_by=None,
        )
    metrics = checkpoint.metrics
    version = await storage.register_model_version(
        checkpoint_path=str(path),
        checkpoint_sha256=checkpoint.sha256 or "",
        corpus_sha256=str(metrics.get("corpus_sha256", corpus_sha)),
        corpus_chars=int(metrics.get("corpus_chars", len(corpus_text))),
        vocab_size=len(checkpoint.vocab),
        steps=int(metrics.get("steps", 0)),
        train_loss=metrics.get("train_loss"),
        val_loss=metrics.get("val_loss"),
        corpus_id=corpus.id,
        note="default model",
        activate=True,
    )
    log.info("registered the default model as version %d", version.id)
    return checkpoint, version.id
