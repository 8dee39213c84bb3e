"""Small helpers every handler uses: the user's language, replies, user rows."""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardMarkup, Update, User
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.storage import User as StoredUser
from bot.telegram.delivery import Outcome, reply_text
from bot.telegram.services import Services
from bot.texts import t

log = logging.getLogger(__name__)

TYPING_TIMEOUT_S = 3.0


def lang_of(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user else None


async def send_reply(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Outcome:
    """Plain text (never a parse mode: generated text must not break formatting), split
    at Telegram's 4,096-character limit, transient errors retried (bot.telegram.delivery);
    ``markup`` under its last part."""
    return await reply_text(update, text, last_markup=markup)


async def reply(update: Update, text: str) -> None:
    """As :func:`send_reply`; raises the Telegram error when nothing could be sent, so the
    error handler logs it (and apologises only if nothing reached the user)."""
    outcome = await send_reply(update, text)
    if outcome.error is not None and not outcome.reached_user:
        raise outcome.error


async def reply_key(update: Update, key: str, **values: object) -> None:
    await reply(update, t(lang_of(update), key, **values))


async def remember_user(services: Services, user: User) -> StoredUser:
    """Create or refresh the user's row; returns it, preferences included."""
    return await services.storage.upsert_user(
        user.id, user.first_name, user.last_name, user.username, user.language_code
    )


async def _send_typing(update: Update) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    try:
        await chat.send_action(
            ChatAction.TYPING, read_timeout=TYPING_TIMEOUT_S, write_timeout=TYPING_TIMEOUT_S
        )
    except TelegramError as exc:  # 5xx, 429, timeouts: the action is a courtesy
        log.info("chat %s: no typing indicator: %s", chat.id, exc)


def typing(update: Update) -> asyncio.Task[None]:
    """Show "typing…" in the background: best effort, it never delays nor fails the
    request it decorates. The caller keeps the task until it is done."""
    return asyncio.create_task(_send_typing(update))
