"""Long polling that confirms an offset only for updates already recorded.

``getUpdates`` with ``offset`` tells Telegram that every update before it was received,
and Telegram then forgets them. PTB's own updater confirms a batch as soon as it sits in
memory, so a process that dies with updates queued loses them. Here each batch is first
written to the inbox (bot/telegram/inbox.py); only then is the next ``getUpdates``, the
one that confirms it, sent. A batch that cannot be recorded is not confirmed and comes
back from Telegram after a pause.

A Bot API outage is logged once when it begins and once when it ends, with how many
requests failed, rather than once per attempt.

Updates are fetched as the Bot API's JSON and recorded as they are: the inbox builds
PTB's objects when it handles each one. Parsing them here as well (``Bot.get_updates``)
cost a sixth of the event loop in a burst, for objects thrown away at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError

from bot.telegram.tasks import cancel_and_wait

log = logging.getLogger(__name__)

LONG_POLL_S = 10  # how long one getUpdates waits for updates to arrive
READ_TIMEOUT_S = 5.0  # beyond the long poll: PTB's own default for getUpdates
BATCH = 100  # Telegram's most per getUpdates
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0

Record = Callable[[Sequence[Mapping[str, Any]]], Awaitable[Any]]


class Poller:
    """Reads updates with getUpdates and hands each batch to ``record`` before confirming."""

    def __init__(self, bot: Bot, record: Record) -> None:
        self._bot = bot
        self._record = record
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        # A webhook left set (e.g. by an earlier cluster run) makes getUpdates refuse; as
        # PTB's start_polling, remove it, keeping what Telegram still holds.
        await self._bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.create_task(self._run(), name="polling")

    async def stop(self) -> None:
        """Stop at once: a getUpdates cut short confirmed nothing new, so nothing is lost."""
        self._stopping = True
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def _run(self) -> None:
        offset: int | None = None
        failures = 0
        while not self._stopping:
            try:
                updates = await self._fetch(offset)
            except InvalidToken:
                log.error("polling stopped: Telegram no longer accepts the bot token")
                return
            except TelegramError as exc:
                failures += 1
                if failures == 1:
                    log.warning("polling: the Bot API is not answering (%s); retrying", exc)
                await asyncio.sleep(min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** (failures - 1)))
                continue
            if failures:
                log.info("polling: the Bot API answers again after %d failed request(s)",
                         failures)  # fmt: skip
                failures = 0
            if not updates:
                continue
            await self._record_batch(updates)
            offset = int(updates[-1]["update_id"]) + 1

    async def _fetch(self, offset: int | None) -> list[dict[str, Any]]:
        """One getUpdates, its result as the JSON objects Telegram sent: what
        ``Bot.get_updates`` does but for parsing them (``do_api_request`` would warn that
        ``get_updates`` exists)."""
        result = await self._bot._post(
            "getUpdates",
            {
                "offset": offset,
                "limit": BATCH,
                "timeout": LONG_POLL_S,
                "allowed_updates": Update.ALL_TYPES,
            },
            read_timeout=READ_TIMEOUT_S + LONG_POLL_S,
        )
        updates = result if isinstance(result, list) else []
        readable = [
            u for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)
        ]
        if len(readable) < len(updates):
            log.warning("polling: skipped %d update(s) without an update_id",
                        len(updates) - len(readable))  # fmt: skip
        return readable

    async def _record_batch(self, batch: Sequence[Mapping[str, Any]]) -> None:
        """Record ``batch``, retrying until it is stored: not confirming it is what keeps
        it safe, so there is no giving up here."""
        attempt = 0
        while not self._stopping:
            try:
                await self._record(batch)
                return
            except Exception as exc:
                attempt += 1
                if attempt == 1:
                    log.warning("polling: could not record %d update(s): %s; retrying",
                                len(batch), exc)  # fmt: skip
                await asyncio.sleep(min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** (attempt - 1)))
