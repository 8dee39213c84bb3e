"""What admins read about a training run, and sending it without ever failing the run.

Progress goes into one status message, edited at most every
``PROGRESS_EDIT_INTERVAL_S``. The outcome is one separate message per run; whether it
was sent is recorded in the run's row (``outcome_sent_at``) by whoever claims it first,
so a retry, a restart or a cancel never tells the admin twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.storage import Storage, TrainingRun, TrainingStatus
from bot.telegram.outgoing import retry_after_seconds
from bot.texts import t

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 4


async def admin_language(storage: Storage, user_id: int | None) -> str | None:
    """The language to tell an admin in: theirs as Telegram last said it;
    None (English) when unknown or unreadable, since a message in English beats none."""
    if user_id is None:
        return None
    try:
        user = await storage.get_user(user_id)
    except Exception as exc:  # a locked or broken database must not stop the message
        log.info("no language for admin %s: %s", user_id, exc)
        return None
    return None if user is None else user.language_code


def progress_text(
    run_id: int, event: dict[str, Any] | None, started: float, lang: str | None = None
) -> str:
    if event is None or event.get("event") != "progress":
        return t(lang, "rt_starting", run=run_id)
    step, total = int(event["step"]), int(event["total_steps"])
    width = 20
    filled = round(width * step / total)
    val = event.get("val_loss")
    val_part = t(lang, "rt_progress_val", val=f"{val:.3f}") if isinstance(val, int | float) else ""
    return t(
        lang, "rt_progress", run=run_id, bar=f"[{'█' * filled}{'░' * (width - filled)}]",
        percent=f"{step / total:.0%}", step=step, total=total,
        loss=f"{float(event['train_loss']):.3f}", val=val_part,
        elapsed=_clock(time.monotonic() - started), eta=_clock(float(event["eta_s"])),
    )  # fmt: skip


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def failed_text(run_id: int, cause: str, serving: int | None, lang: str | None = None) -> str:
    return t(lang, "rt_failed", run=run_id, cause=cause) + "\n" + keeps_serving(serving, lang)


def cancelled_text(
    run_id: int, reason: str | None, serving: int | None, lang: str | None = None
) -> str:
    said = (
        t(lang, "rt_cancelled_why", run=run_id, reason=reason)
        if reason
        else t(lang, "rt_cancelled", run=run_id)
    )
    return said + "\n" + keeps_serving(serving, lang)


def keeps_serving(serving: int | None, lang: str | None = None) -> str:
    return (
        t(lang, "rt_keeps_current")
        if serving is None
        else t(lang, "rt_keeps_version", version=serving)
    )


def version_buttons(version_id: int, lang: str | None = None) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "rt_btn_activate"), callback_data=f"mv:use:{version_id}"
                ),
                InlineKeyboardButton(
                    t(lang, "rt_btn_discard"), callback_data=f"mv:discard:{version_id}"
                ),
            ]
        ]
    )


async def send(
    bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> bool:
    """Send a message, waiting out flood limits and retrying network faults; True if sent."""
    for attempt in range(SEND_ATTEMPTS):
        try:
            await bot.send_message(chat_id, text[:4096], reply_markup=markup)
            return True
        except RetryAfter as exc:
            await asyncio.sleep(min(30.0, retry_after_seconds(exc)))
        except (BadRequest, Forbidden) as exc:  # retrying cannot help
            log.warning("could not message admin chat %s: %s", chat_id, exc)
            return False
        except TelegramError as exc:
            log.warning("could not message admin chat %s (attempt %d): %s", chat_id, attempt, exc)
            await asyncio.sleep(0.5 * 2**attempt)
    return False


async def edit(bot: Bot, chat_id: int | None, message_id: int | None, text: str) -> None:
    """Edit the status message; it is only a display, so any failure is logged, not raised."""
    if chat_id is None or message_id is None:
        return
    try:
        await bot.edit_message_text(text[:4096], chat_id=chat_id, message_id=message_id)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("could not edit the training status message: %s", exc)
    except TelegramError as exc:
        log.warning("could not edit the training status message: %s", exc)


async def send_photo(bot: Bot, chat_id: int, png: bytes, caption: str) -> None:
    try:
        await bot.send_photo(chat_id, png, caption=caption[:1024])
    except TelegramError as exc:
        log.warning("could not send the loss curve: %s", exc)


def final_status(run: TrainingRun, lang: str | None = None) -> str:
    # Short on purpose: the outcome itself is the separate message.
    if run.status is TrainingStatus.SUCCEEDED:
        return t(lang, "rt_final_done", run=run.id)
    return t(lang, "rt_final_state", run=run.id, state=run.status.value)
