"""Start-up: make sure there is an active model version, training the default if needed.

What a start-up finds: the active version's file may be missing, truncated,
or replaced (its SHA-256 no longer the registered one). Serving goes on with the newest
other version that loads, and the admins are told once the bot is up; only when nothing
at all loads does start-up stop, with one line naming the file to restore or delete.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from telegram import Bot
from telegram.error import TelegramError

from bot.ops.startup import StartupError
from bot.settings.config import Settings
from bot.storage import ModelVersion, Storage
from bot.texts import t
from bot.texts.worded import CheckpointRefused, Worded, cause
from bot.training.blobs import checkpoint_file
from bot.training.plan import quality_summary
from model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from model.errors import CheckpointError
from model.shipped import load_shipped
from model.text import read_corpus, sha256_text
from model.train import Progress, TrainConfig, train

log = logging.getLogger(__name__)


def _train_default(settings: Settings) -> Checkpoint:
    text = read_corpus(settings.corpus_path)
    # the "fit" recipe by default, its budget sized from the corpus.
    config = TrainConfig.for_recipe(
        settings.default_train_recipe,
        settings.default_train_steps,
        text_chars=len(text),
        time_budget_s=settings.default_train_time_budget_s,
    )
    last_log = [0.0]

    def report(p: Progress) -> None:
        if p.elapsed_s - last_log[0] >= 10 or p.step == p.total_steps:
            last_log[0] = p.elapsed_s
            val = "" if p.val_loss is None else f" val loss {p.val_loss:.3f}"
            log.info(
                "training the default model: step %d/%d, loss %.3f%s, eta %.0fs",
                p.step, p.total_steps, p.train_loss, val, p.eta_s,
            )  # fmt: skip

    log.info(
        "no checkpoint yet: training the default model on %s (%d characters, %s steps, "
        "recipe %s)",
        settings.corpus_path, len(text), settings.default_train_steps, config.recipe,
    )  # fmt: skip
    result = train(text, config, device=settings.device, on_progress=report)
    log.info("default model: %s", quality_summary(result.metrics()))
    checkpoint = Checkpoint.from_result(result)
    save_checkpoint(checkpoint, settings.default_checkpoint)
    return checkpoint


def _first_model(settings: Settings) -> Checkpoint:
    """The shipped model when it fits the configured corpus, else one trained now."""
    text = read_corpus(settings.corpus_path)
    shipped = load_shipped(settings.shipped_model, text, settings.device)
    if isinstance(shipped, str):
        log.warning("not serving the shipped model: %s; training the default model", shipped)
        return _train_default(settings)
    log.info("serving the shipped model %s (%s)", settings.shipped_model, shipped.sha256)
    settings.default_checkpoint.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings.shipped_model, settings.default_checkpoint)
    return shipped


async def _load_verified(settings: Settings, storage: Storage, version: ModelVersion) -> Checkpoint:
    """The version's checkpoint, refusing a file whose bytes are not the ones registered.

    A file missing or damaged here is fetched from the database first.
    """
    path = await checkpoint_file(
        storage, settings.checkpoint_dir, version.checkpoint_path, version.checkpoint_sha256
    )
    if not path.exists():  # said here, so the admins read it in their language
        raise CheckpointRefused("checkpoint_missing")
    checkpoint = await asyncio.to_thread(load_checkpoint, path, settings.device)
    if version.checkpoint_sha256 and checkpoint.sha256 != version.checkpoint_sha256:
        raise CheckpointRefused("checkpoint_changed")
    return checkpoint


async def _fallback(
    settings: Settings, storage: Storage, broken: ModelVersion
) -> tuple[Checkpoint, ModelVersion] | None:
    """The newest other version that loads, now activated; None when none does."""
    for version in await storage.list_model_versions():  # newest first
        if version.id == broken.id:
            continue
        try:
            checkpoint = await _load_verified(settings, storage, version)
        except CheckpointError as exc:
            log.warning("model version %d cannot be loaded either: %s", version.id, exc)
            continue
        return checkpoint, await storage.activate_model_version(version.id)
    return None


async def ensure_active_model(
    settings: Settings, storage: Storage, notices: list[Worded] | None = None
) -> tuple[Checkpoint, int]:
    """Load the active version; else the newest version that loads; else the default.

    A corrupt active version is not fatal while another registered version loads: that
    one is activated (one log line; a notice for the admins is appended to ``notices``).
    The default checkpoint is registered only if no version holds the same file already,
    so restarts never multiply "default model" rows. When nothing can be served, a
    StartupError names the file to delete or restore.
    """
    active = await storage.active_model_version()
    broken: tuple[ModelVersion, CheckpointError] | None = None
    if active is not None:
        try:
            checkpoint = await _load_verified(settings, storage, active)
            return checkpoint, active.id
        except CheckpointError as exc:
            broken = (active, exc)
        fallback = await _fallback(settings, storage, active)
        if fallback is not None:
            checkpoint, version = fallback
            log.error(
                "active model version %d (%s) cannot be loaded (%s); serving version %d instead",
                active.id, active.checkpoint_path, broken[1], version.id,
            )  # fmt: skip
            if notices is not None:
                notices.append(
                    Worded(
                        "startup_version_fallback", version=active.id, cause=broken[1],
                        serving=version.id, path=active.checkpoint_path,
                    )
                )  # fmt: skip
            return checkpoint, version.id

    path = settings.default_checkpoint
    try:
        if path.exists():
            checkpoint = await asyncio.to_thread(load_checkpoint, path, settings.device)
        else:
            checkpoint = await asyncio.to_thread(_first_model, settings)
    except CheckpointError as exc:
        raise _nothing_loads(path, exc, broken) from None
    if broken is not None:
        log.error(
            "active model version %d cannot be loaded (%s) and no other version loads; "
            "serving the default checkpoint %s",
            broken[0].id, broken[1], path,
        )  # fmt: skip
    same = [
        v for v in await storage.list_model_versions() if v.checkpoint_sha256 == checkpoint.sha256
    ]
    if same:
        # Already registered (e.g. the default, active before a newer version broke).
        version = await storage.activate_model_version(same[0].id)
        log.info("activated model version %d, the default checkpoint %s", version.id, path)
        if broken is not None and notices is not None:
            notices.append(_default_notice(broken, version.id))
        return checkpoint, version.id
    version_id = await _register_default(settings, storage, checkpoint)
    if broken is not None and notices is not None:
        notices.append(_default_notice(broken, version_id))
    return checkpoint, version_id


def _default_notice(broken: tuple[ModelVersion, CheckpointError], serving: int) -> Worded:
    version, exc = broken
    return Worded("startup_default_fallback", version=version.id, cause=exc, serving=serving)


def _nothing_loads(
    path: Path, exc: CheckpointError, broken: tuple[ModelVersion, CheckpointError] | None
) -> StartupError:
    also = ""
    if broken is not None and Path(broken[0].checkpoint_path) != path:
        also = f"; active model version {broken[0].id} failed too ({broken[1]})"
    return StartupError(
        f"no model can be loaded: the default checkpoint {path} is unusable ({exc}); restore "
        "it from a backup, or delete it to have the default model trained again from "
        f"CORPUS_PATH{also}"
    )


async def _register_default(settings: Settings, storage: Storage, checkpoint: Checkpoint) -> int:
    path = settings.default_checkpoint
    corpus_text = await asyncio.to_thread(read_corpus, settings.corpus_path)
    corpus_sha = sha256_text(corpus_text)
    # the default corpus and checkpoint are in the database too, for trainers
    # and replicas on other hosts.
    await storage.put_blob(corpus_text.encode("utf-8"))
    await storage.put_blob(await asyncio.to_thread(path.read_bytes))
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
    return version.id


async def tell_admins(
    bot: Bot, settings: Settings, storage: Storage, notices: list[Worded]
) -> None:
    """Send each start-up notice to every admin, best effort: start-up goes on regardless."""
    for admin_id in sorted(settings.admin_ids) if notices else []:
        user = await storage.get_user(admin_id)
        lang = user.language_code if user is not None else None
        for notice in notices:
            try:
                await bot.send_message(
                    admin_id, t(lang, "startup_notice", notice=cause(lang, notice))
                )
            except TelegramError as exc:  # never opened a chat with the bot, blocked it, ...
                log.warning("could not tell admin %s about a start-up problem: %s", admin_id, exc)
