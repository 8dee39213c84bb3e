"""The last line of defence: log the exception, tell the user once, never show a traceback."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes

from bot.telegram.delivery import was_answered
from bot.texts import t

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(error, NetworkError | TimedOut | RetryAfter) and not isinstance(update, Update):
        # Polling hiccups: PTB retries on its own; one warning line is enough.
        log.warning("network problem while polling: %s", error)
        return
    log.error("error while handling an update", exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if was_answered(update):
        # The request's answer (or part of it) already went out: an apology now would
        # contradict it. One outcome per request.
        return
    lang = update.effective_user.language_code if update.effective_user else None
    try:
        await context.bot.send_message(update.effective_chat.id, t(lang, "error"))
    except Exception:  # the apology itself failing must not loop back into this handler
        log.warning("could not tell the user about the error", exc_info=True)
