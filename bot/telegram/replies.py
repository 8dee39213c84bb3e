"""Small helpers every handler uses: the user's language, replies, user rows."""

from __future__ import annotations

import asyncio
import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Update, User
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from bot.storage import User as StoredUser
from bot.telegram.delivery import Outcome, reply_text
from bot.telegram.services import Services
from bot.texts import t
from bot.texts.worded import cause

log = logging.getLogger(__name__)

TYPING_TIMEOUT_S = 3.0
# Telegram's answers that mean "nothing to do", not a failure: a press answered too late
# (queued during a restart) or twice, and an edit that changes nothing (a double tap).
STALE_QUERY = ("query is too old", "query id is invalid")
NOT_MODIFIED = "message is not modified"


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
    """Reply with message ``key``; an error among ``values`` is said in the reader's
    language (bot.texts.worded)."""
    lang = lang_of(update)
    said = {k: cause(lang, v) if isinstance(v, BaseException) else v for k, v in values.items()}
    await reply(update, t(lang, key, **said))


async def answer_query(
    query: CallbackQuery, text: str | None = None, *, show_alert: bool = False
) -> None:
    """Answer a button press (stops the client's spinner). A press too old to answer
    still does its work: the answer is a courtesy, the press is what the user asked."""
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as exc:
        if not any(part in exc.message.lower() for part in STALE_QUERY):
            raise
        log.info("callback query %s: not answered: %s", query.id, exc.message)


async def edit_query_text(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> bool:
    """Edit the pressed message; False when it already reads so (a double tap on a
    pager shows the page it shows), never an error."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if NOT_MODIFIED not in exc.message.lower():
            raise
        return False
    return True


async def take_buttons(query: CallbackQuery) -> bool:
    """Remove the pressed message's buttons, claiming the press: True for the press that
    removed them, False for one that finds them gone (a double tap, a stale keyboard, a
    confirmation already answered), which must then do nothing."""
    message = query.message
    if message is None or getattr(message, "reply_markup", None) is None:
        return False
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as exc:
        if NOT_MODIFIED not in exc.message.lower():
            raise
        return False
    return True


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


# Typing tasks until they are done: the event loop keeps only weak references to tasks,
# and a caller may leave one to finish on its own.
_TYPING: set[asyncio.Task[None]] = set()


def typing(update: Update) -> asyncio.Task[None]:
    """Show "typing…" in the background: best effort, it never delays nor fails the
    request it decorates."""
    task = asyncio.create_task(_send_typing(update))
    _TYPING.add(task)
    task.add_done_callback(_TYPING.discard)
    return task
