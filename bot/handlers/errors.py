"""The last line of defence: log the exception, tell the user once, never show a traceback.

Before that, an update whose handling failed because the database was away for a moment
(a PostgreSQL restart or failover: refused connections, "the database system is starting
up", a pooled connection the server closed) is handled again after a short wait, a few
times over about :data:`RETRY_DELAYS_S`'s sum: a restart takes seconds, and the user gets
their answer instead of an apology. Only an update nothing was sent for yet is retried,
so no one is answered twice; the handlers' writes are transactions that the dropped
connection rolled back.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.telegram.delivery import was_answered
from bot.texts import t
from bot.training.retry import describe, is_disconnect

log = logging.getLogger(__name__)

# Waits before each new try of an update the database failed: 15.5 s in all, longer than
# a PostgreSQL restart (1-5 s) and short enough that a user still waits for the answer.
RETRY_DELAYS_S: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)

_tries: dict[int, int] = {}  # update_id -> tries so far, while it is being retried


async def _handled_again(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Handle ``update`` again after a wait; False once its tries are used up.

    The retry runs inside this error handler, so a failure of the retry comes back here
    one level deeper; the outermost call forgets the update's count at the end.
    """
    tried = _tries.get(update.update_id, 0)
    if tried >= len(RETRY_DELAYS_S):
        return False
    _tries[update.update_id] = tried + 1
    if tried == 0:
        log.warning("update %d: %s; handling it again for up to %.0f s", update.update_id,
                    describe(context.error or Exception()), sum(RETRY_DELAYS_S))  # fmt: skip
    try:
        await asyncio.sleep(RETRY_DELAYS_S[tried])
        await context.application.process_update(update)
    finally:
        if tried == 0:
            _tries.pop(update.update_id, None)
    return True


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(error, NetworkError | TimedOut | RetryAfter) and not isinstance(update, Update):
        # Polling hiccups: PTB retries on its own; one warning line is enough.
        log.warning("network problem while polling: %s", error)
        return
    if (
        isinstance(update, Update)
        and error is not None
        and is_disconnect(error)
        and not was_answered(update)
        and await _handled_again(update, context)
    ):
        # The update went through every handler group again: the groups after the one
        # that failed must not see it a second time.
        raise ApplicationHandlerStop
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
