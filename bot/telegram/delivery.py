"""Sending a reply through a Bot API that may fail, stall or say "too many requests".

Design:

* Transient failures are retried with exponential backoff, all within one time budget per
  reply (``REPLY_DEADLINE_S``): Telegram's 5xx and connection errors (PTB's NetworkError),
  a 429 that no rate limiter absorbed (RetryAfter: wait as told, if the budget allows), and
  timeouts that happened *before* the request reached Telegram (connect / pool timeouts).
* A read timeout is ambiguous: Telegram may have delivered the message and only the answer
  was lost. Retrying could send the text twice and apologising could contradict a text the
  user already has, so such a part is not retried and counts as "maybe sent". Instead each
  send waits generously (the rest of the budget), which is what makes a slow Telegram (an
  answer after 7-12 s) work at all.
* Permanent errors (400, 403, ...) are not retried.
* A handler marks its update "answered" as soon as any part of its answer may have reached
  the user; the error handler then never adds an apology to it (one outcome per request).

The result says how many parts were confirmed, so callers can record delivery.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut

from bot import metrics
from bot.telegram.outgoing import retry_after_seconds
from bot.telegram.parsing import split_message
from bot.telegram.request import NeverLeft

log = logging.getLogger(__name__)

REPLY_BUDGET_S = 30.0  # per reply, all retries included
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0
MIN_SEND_TIMEOUT_S = 2.0
ANSWERED_KEPT = 2_000


@dataclass(frozen=True)
class Outcome:
    """What became of a reply of ``parts`` messages."""

    parts: int
    confirmed: int  # parts Telegram confirmed
    maybe_sent: bool  # a part timed out after it was sent: it may have arrived
    error: TelegramError | None  # why sending stopped early, if it did

    @property
    def delivered(self) -> bool:
        return self.confirmed == self.parts

    @property
    def reached_user(self) -> bool:
        """Whether the user may have seen any of it (then: no apology)."""
        return self.confirmed > 0 or self.maybe_sent


def _never_sent(error: TimedOut) -> bool:
    """A timeout before the request reached Telegram (safe to retry)."""
    return isinstance(error.__cause__, NeverLeft)


async def send_text(
    bot: Bot,
    chat_id: int,
    text: str,
    *,
    budget_s: float,
    reply_to: int | None = None,
    last_markup: InlineKeyboardMarkup | None = None,
    **kwargs: Any,
) -> Outcome:
    """Send ``text`` (split at Telegram's limit) as plain text, retrying transient errors
    within ``budget_s`` seconds; never raises TelegramError. ``last_markup`` (the
    buttons under a text) goes on the last part only, under the end of the text."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    chunks = split_message(text)
    reply = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        if reply_to is not None
        else None
    )
    for index, chunk in enumerate(chunks):
        attempt = 0
        while True:
            left = deadline - loop.time()
            timeout = max(MIN_SEND_TIMEOUT_S, left)
            try:
                await bot.send_message(
                    chat_id,
                    chunk,
                    parse_mode=None,
                    reply_parameters=reply if index == 0 else None,
                    reply_markup=last_markup if index == len(chunks) - 1 else None,
                    read_timeout=timeout,
                    write_timeout=timeout,
                    **kwargs,
                )
                break
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                error: TelegramError = exc
            except TimedOut as exc:
                if not _never_sent(exc):
                    log.warning("chat %s: no answer to a sent message in time: %s", chat_id, exc)
                    return Outcome(len(chunks), index, True, exc)
                wait, error = FIRST_BACKOFF_S * 2**attempt, exc
            except NetworkError as exc:  # 5xx, connection refused or reset
                wait, error = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2**attempt), exc
            except TelegramError as exc:  # 400, 403, ...: retrying cannot help
                log.warning("chat %s: Telegram refused a reply: %s", chat_id, exc)
                return Outcome(len(chunks), index, False, exc)
            attempt += 1
            if loop.time() + wait >= deadline:
                log.warning(
                    "chat %s: giving up a reply after %d attempts: %s", chat_id, attempt, error
                )
                return Outcome(len(chunks), index, False, error)
            log.info("chat %s: retrying a reply in %.1f s after: %s", chat_id, wait, error)
            metrics.RETRIES.labels("reply").inc()
            await asyncio.sleep(wait)
    return Outcome(len(chunks), len(chunks), False, None)


async def reply_text(
    update: Update,
    text: str,
    budget_s: float | None = None,
    last_markup: InlineKeyboardMarkup | None = None,
) -> Outcome:
    """Answer ``update`` in its chat: quoting the message in groups (so several users can
    tell whose answer it is), not in private chats. Marks the update answered when any of
    it may have reached the user."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None:
        return Outcome(0, 0, False, None)
    quote = (
        message.message_id
        if message is not None and chat.type != ChatType.PRIVATE and update.message is not None
        else None
    )
    budget = REPLY_BUDGET_S if budget_s is None else budget_s
    outcome = await send_text(
        update.get_bot(), chat.id, text, budget_s=budget, reply_to=quote, last_markup=last_markup
    )
    if outcome.reached_user:
        mark_answered(update)
    return outcome


# ------------------------------------------------------------- answered updates
# Keyed by the Update object's identity, holding the object itself so its id cannot be
# reused while the entry exists: the error handler receives the very object the handler
# had. Bounded: only updates still being handled matter.

_answered: OrderedDict[int, Update] = OrderedDict()


def mark_answered(update: Update) -> None:
    _answered[id(update)] = update
    while len(_answered) > ANSWERED_KEPT:
        _answered.popitem(last=False)


def was_answered(update: Update) -> bool:
    return _answered.get(id(update)) is update
