"""The one outcome message of a run: claimed in its row, composed, sent.

``announce`` first claims the outcome (``outcome_sent_at``, a guarded UPDATE), then
sends; if Telegram refuses every try, the claim is released so the next start-up tries
again. Whoever comes second (a retry, a restart, the cancel command's own reply) finds
the claim taken and says nothing, so the admin hears exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup

from bot.retrain.messages import (
    admin_language,
    cancelled_text,
    failed_text,
    send,
    send_photo,
    version_buttons,
)
from bot.retrain.plot import legend, loss_curve_png
from bot.storage import Storage, TrainingRun, TrainingStatus
from bot.storage.schema import utcnow
from bot.texts import t
from bot.texts.worded import cause, said
from bot.training.finishing import Finished
from bot.training.judge import users_losing_characters
from bot.training.plan import outcome_lines
from bot.training.retry import describe, retry
from model.checkpoint import Checkpoint
from model.errors import ModelError
from model.sample import sample

log = logging.getLogger(__name__)

SEED_WINDOW = timedelta(days=30)


async def announce(
    bot: Bot,
    storage: Storage,
    run_id: int,
    *,
    serving: int | None,
    details: Finished | None = None,
    active: Checkpoint | None = None,
    history: list[dict[str, Any]] | None = None,
) -> bool:
    """Tell the run's admin its outcome unless someone already did; True if this call did."""
    try:
        run = await retry(lambda: storage.claim_outcome(run_id), f"run {run_id}: claim outcome")
    except Exception as exc:
        log.warning("run %d: outcome not sent, will retry at start-up: %s", run_id, describe(exc))
        return False
    if run is None or run.chat_id is None:
        return False
    lang = await admin_language(storage, run.started_by)  # the admin's language
    try:
        text, markup = await compose(storage, run, serving, details, active, lang)
        if history and run.status is TrainingStatus.SUCCEEDED:
            png = await asyncio.to_thread(loss_curve_png, history)  # the caption names the run
    except asyncio.CancelledError:
        # Stopped (the bot is shutting down) before anything was sent: give the claim
        # back, so the next start tells the admin instead of nobody ever doing it.
        await asyncio.shield(_release(storage, run_id))
        raise
    if history and run.status is TrainingStatus.SUCCEEDED:
        caption = t(lang, "rt_curve", run=run.id) + "\n" + legend(lang, history)
        await send_photo(bot, run.chat_id, png, caption)
    if await send(bot, run.chat_id, text, markup):
        return True
    await _release(storage, run_id)
    return False


async def _release(storage: Storage, run_id: int) -> None:
    try:
        await retry(lambda: storage.release_outcome(run_id), "releasing the outcome", attempts=5)
    except Exception as exc:
        log.warning("run %d: could not release the outcome claim: %s", run_id, describe(exc))


async def compose(
    storage: Storage,
    run: TrainingRun,
    serving: int | None,
    details: Finished | None,
    active: Checkpoint | None,
    lang: str | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    if run.status is TrainingStatus.FAILED:
        cause = said(lang, run.error) if run.error else t(lang, "cause_unexpected")
        return failed_text(run.id, cause, serving, lang), None
    if run.status is TrainingStatus.CANCELLED:
        reason = said(lang, run.error) if run.error else None
        return cancelled_text(run.id, reason, serving, lang), None
    if run.status is not TrainingStatus.SUCCEEDED or run.model_version_id is None:
        return t(lang, "rt_ended_as", run=run.id, state=run.status.value), None
    version = await retry(
        lambda: storage.get_model_version(run.model_version_id or 0), "reading the version"
    )
    if version is None:
        return t(lang, "rt_version_gone", run=run.id), None
    lines = [t(lang, "rt_finished", run=run.id)]
    verdict = details.verdict if details else None
    markup = None
    if version.is_active:
        lines.append(t(lang, "rt_now_active", version=version.id))
    else:
        markup = version_buttons(version.id, lang)
        if verdict is not None and not verdict.alphabet_ok:
            lines.append(
                t(lang, "rt_alphabet", version=version.id,
                  share=f"{verdict.shared_alphabet:.0%}", serving=serving)
            )  # fmt: skip
            if details and details.checkpoint is not None and active is not None:
                lines.append(await _seed_warning(storage, details.checkpoint, active, lang))
        elif verdict is not None:
            lines.append(t(lang, "rt_worse", version=version.id, serving=serving))
        else:
            lines.append(t(lang, "rt_stored", version=version.id))
    if verdict is not None:
        old = t(lang, "n_a") if verdict.old_val is None else f"{verdict.old_val:.4f}"
        lines.append(t(lang, "rt_val", new=f"{verdict.new_val:.4f}", old=old))
        if verdict.old_val is None:
            lines.append(t(lang, "rt_not_compared", coverage=f"{verdict.coverage:.0%}"))
    lines.extend(await outcome_lines(storage, run, details))
    if details and details.checkpoint is not None and details.text:
        sample_ = await _sample(details, lang)
        lines.append("\n" + t(lang, "rt_sample", version=version.id) + "\n\n" + sample_)
    return "\n".join(lines), markup


async def _seed_warning(
    storage: Storage, new: Checkpoint, active: Checkpoint, lang: str | None = None
) -> str:
    try:
        seeds = await storage.recent_seeds(utcnow() - SEED_WINDOW)
    except Exception as exc:
        return t(lang, "rt_seeds_unchecked", error=cause(lang, exc, describe(exc)))
    users = users_losing_characters(seeds, new, active)
    if not users:
        return t(lang, "rt_seeds_fine")
    shown = ", ".join(str(u) for u in users[:5]) + (" …" if len(users) > 5 else "")
    return t(
        lang, "rt_seeds_warning", count=len(users), users=shown,
        button=t(lang, "rt_btn_activate"),
    )  # fmt: skip


async def _sample(details: Finished, lang: str | None = None) -> str:
    assert details.checkpoint is not None and details.text is not None
    text = details.text
    seed = text.strip().split("\n", 1)[0][:24] or text[:24]
    checkpoint = details.checkpoint
    try:
        result = await asyncio.to_thread(
            sample, checkpoint.model, checkpoint.vocab, seed, 200, 0.8, None, 1
        )
    except ModelError as exc:
        return t(lang, "rt_no_sample", error=cause(lang, exc))
    return result.text[:3000]
