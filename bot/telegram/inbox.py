"""The durable inbox: every update is recorded before Telegram is told it arrived, and
handled from the database, so a process that dies loses nothing.

Design:

* :meth:`Inbox.record` writes updates to the ``updates`` table (a redelivered
  ``update_id`` is a no-op). The webhook server answers 200 and the poller confirms an
  offset only after it returns (bot/telegram/webhook_server.py, bot/telegram/polling.py).
* One dispatch loop per process claims recorded updates with a lease (``INBOX_LEASE_S``,
  15 s by default) as handler slots free up, and runs each through PTB's handlers
  (``process_update``, within the application's concurrency limit). Claims in progress
  are renewed every third of the lease, so a live process never loses one; a dead
  process's claims run out and are taken over by any other process (a replica, or the
  restarted one).
* An update is marked done once its handlers returned: by then its outcome (a text, an
  apology, or deliberate silence) is stored or sent. Done marks of updates handled at
  the same time are committed together (:class:`GroupCommit`): a burst costs a few
  transactions, not one more per update.
* A claim of an update another process may have begun (``attempts`` above 1) first looks
  for a generation stored for it: one not yet delivered is sent (once, by the one
  process holding the claim), one delivered means the update is done; only an update
  with no stored text runs its handlers again.
* The claim is a single conditional UPDATE, so two processes racing for an expired claim
  cannot both win it: an update is handled by one process at a time.
* Done rows are pruned after ``RETENTION`` (long enough to recognise any redelivery).

* Before a message answering an update is handed to Telegram (after the outgoing pacer,
  in bot/telegram/request.py) the update's ``reply_started_at`` is committed
  (:class:`ReplyMark`, carried to the request by a context variable); a 4xx answer, or a
  request that never left (connection refused, connect or pool timeout), clears it. A
  taken-over update with the mark set is treated as answered: its stored text counts as
  delivered and its handlers do not run again. Telegram offers no idempotency key for
  sendMessage, so one of two windows must stay; this keeps the smaller one. Marking
  after Telegram's answer would leave "confirmed, not yet recorded" (the answer's trip
  back plus a commit), in which a kill sends the text twice; marking before leaves only
  "recorded, not yet written to the socket" (in-process work, well under a millisecond),
  in which a kill loses that one message. Bytes already written reach Telegram even if
  the process dies next: the kernel still sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.storage.queries.inbox import ClaimedUpdate, InboxQueries, StoredReply
from bot.storage.schema import utcnow
from bot.telegram.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# How long a claim lasts without renewal by default (the INBOX_LEASE_S setting): what a
# dead process's updates wait at most before another process takes them over.
LEASE_S = 15.0
RENEWALS_PER_LEASE = 3  # renew every third of the lease: two renewals may fail in a row
# How often to look for updates recorded by another replica or abandoned by a dead one;
# updates this process recorded itself are claimed at once.
POLL_EVERY_S = 1.0
RETENTION = timedelta(days=2)  # Telegram gives up redelivering an update within a day
PRUNE_EVERY_S = 600.0
ERROR_PAUSE_S = 1.0  # after a failed claim (e.g. the database restarting)

Redeliver = Callable[[Update, StoredReply], Awaitable[None]]
AppType = Application[Any, Any, Any, Any, Any, Any]


class GroupCommit:
    """Small writes committed together: callers add an id and wait for the one
    transaction that includes it. While one group is being written (or waits for the
    database's single writer), the next gathers, so a burst costs a few transactions
    instead of one per update."""

    def __init__(self, write: Callable[[list[int]], Awaitable[None]]) -> None:
        self._write = write
        self._ids: list[int] = []
        self._written: asyncio.Future[None] | None = None  # the gathering group's
        self._task: asyncio.Task[None] | None = None

    async def add(self, update_id: int) -> None:
        """Return once ``update_id`` is committed; raise what the write raised."""
        self._ids.append(update_id)
        if self._written is None:
            self._written = asyncio.get_running_loop().create_future()
        written = self._written
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="inbox group commit")
        await asyncio.shield(written)

    async def _run(self) -> None:
        while self._ids:
            ids, self._ids = self._ids, []
            written, self._written = self._written, None
            assert written is not None
            try:
                await self._write(ids)
            except Exception as exc:
                written.set_exception(exc)
                written.exception()  # a waiter may be gone: never "never retrieved"
            else:
                written.set_result(None)


class ReplyMark:
    """The "a reply may have reached the user" mark of the update being handled."""

    def __init__(self, queries: InboxQueries, update_id: int) -> None:
        self._queries = queries
        self.update_id = update_id
        self._set = False
        self._reached = False  # some message may have arrived: never cleared again

    async def before_send(self) -> None:
        """Commit the mark before a message leaves (once per update)."""
        if self._set:
            return
        try:
            # one transaction per reply, never a group: a group's replies would all leave
            # at once when it commits, and the last would wait for all the others (tens
            # of milliseconds in a burst) between its mark and Telegram
            await self._queries.mark_replies_started([self.update_id])
            self._set = True
        except Exception as exc:  # answer now; a takeover may then send it twice
            log.warning("update %d: could not mark its reply as started: %s", self.update_id, exc)

    async def after_send(self, *, refused: bool) -> None:
        """``refused``: Telegram answered 4xx, or the request never left."""
        if not refused:
            self._reached = True
        elif self._set and not self._reached:
            with contextlib.suppress(Exception):  # kept: a takeover then sends nothing
                await self._queries.clear_reply_started(self.update_id)
                self._set = False


# The mark of the update the current task handles (None outside the inbox's handling).
REPLY_MARK: contextvars.ContextVar[ReplyMark | None] = contextvars.ContextVar(
    "reply_mark", default=None
)


def process_identity() -> str:
    """A name for this process's claims, unique across hosts and restarts."""
    return f"bot@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Inbox:
    """Records updates and feeds them, claimed, to the application's handlers."""

    def __init__(
        self,
        application: AppType,
        queries: InboxQueries,
        *,
        slots: int,
        redeliver: Redeliver,
        owner: str | None = None,
        lease_s: float = LEASE_S,
    ) -> None:
        self._app = application
        self._queries = queries
        self._slots = max(1, slots)
        self._redeliver = redeliver
        self.owner = owner or process_identity()
        self._lease = timedelta(seconds=lease_s)
        self._renew_every_s = lease_s / RENEWALS_PER_LEASE
        self._wake = asyncio.Event()
        self._working: dict[int, asyncio.Task[None]] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False
        self._handled = GroupCommit(queries.mark_updates_done)

    async def record(self, updates: Sequence[Mapping[str, Any]]) -> int:
        """Record updates (raw Bot API JSON objects) durably; returns how many were new.

        Raises what the database raises: the caller must then not acknowledge them.
        """
        pairs = [(int(u["update_id"]), json.dumps(u, ensure_ascii=False)) for u in updates]
        new = await self._queries.record_updates(pairs)
        self._wake.set()
        return new

    async def start(self, *, sole_reader: bool = False) -> None:
        """Start dispatching. ``sole_reader`` (polling: one process reads this bot's
        updates) ends every open claim first: their processes are gone."""
        if sole_reader:
            expired = await self._queries.expire_all_claims()
            if expired:
                log.info("taking over %d update(s) a stopped process had claimed", expired)
        self._loops = [
            asyncio.create_task(self._dispatch(), name="inbox dispatch"),
            asyncio.create_task(self._renew(), name="inbox renew"),
            asyncio.create_task(self._prune(), name="inbox prune"),
        ]

    async def stop(self, grace_s: float) -> None:
        """Stop claiming, give the updates being handled ``grace_s`` to finish, and hand
        back the claims of the rest."""
        self._stopping = True
        self._wake.set()
        for task in self._loops:
            await cancel_and_wait(task)
        self._loops = []
        working = dict(self._working)
        if working:
            _, late = await asyncio.wait(working.values(), timeout=grace_s)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
                left = [uid for uid, task in working.items() if task in late]
                log.warning("%d update(s) left to the next process", len(left))
                with contextlib.suppress(Exception):
                    await self._queries.release_claims(self.owner, left)

    # ---------------------------------------------------------------------- loops

    async def _dispatch(self) -> None:
        while not self._stopping:
            free = self._slots - len(self._working)
            if free > 0:
                try:
                    claimed = await self._queries.claim_updates(self.owner, self._lease, free)
                except Exception as exc:  # the database away: try again shortly
                    log.warning("could not claim updates: %s", exc)
                    await asyncio.sleep(ERROR_PAUSE_S)
                    continue
                for item in claimed:
                    task = asyncio.create_task(self._handle(item), name=f"update {item.update_id}")
                    self._working[item.update_id] = task
                    task.add_done_callback(functools.partial(self._finished, item.update_id))
                if len(claimed) == free:
                    continue  # there may be more waiting
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_EVERY_S)

    def _finished(self, update_id: int, _task: asyncio.Task[None]) -> None:
        self._working.pop(update_id, None)
        self._wake.set()  # a slot is free

    async def _renew(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self._renew_every_s)
            try:
                await self._queries.renew_claims(self.owner, list(self._working), self._lease)
            except Exception as exc:
                log.warning("could not renew claims on updates being handled: %s", exc)

    async def _prune(self) -> None:
        while not self._stopping:
            try:
                pruned = await self._queries.prune_done_updates(utcnow() - RETENTION)
                if pruned:
                    log.info("pruned %d handled update(s) from the inbox", pruned)
            except Exception as exc:
                log.warning("could not prune handled updates: %s", exc)
            await asyncio.sleep(PRUNE_EVERY_S)

    # ---------------------------------------------------------------------- one update

    async def _handle(self, item: ClaimedUpdate) -> None:
        # this task's own context: handlers' tasks inherit it, other updates never see it
        REPLY_MARK.set(ReplyMark(self._queries, item.update_id))
        try:
            update = Update.de_json(json.loads(item.payload), self._app.bot)
        except Exception as exc:  # not an update PTB can read: nothing to answer
            log.warning("update %d is unreadable and is skipped: %s", item.update_id, exc)
            await self._done(item.update_id)
            return
        try:
            if item.attempts > 1 and await self._resumed(update, item.update_id):
                await self._done(item.update_id)
                return
            app = self._app
            await app.update_processor.process_update(update, app.process_update(update))
        except Exception:
            # PTB hands handler errors to the error handler; this is anything else.
            log.exception("update %d: handling failed", item.update_id)
        await self._done(item.update_id)

    async def _resumed(self, update: Update, update_id: int) -> bool:
        """For an update another process may have begun: True when it is answered
        already, or is now, without running its handlers again.

        A reply that may have reached the user (``reply_started_at``) ends it: its
        stored text counts as delivered. Otherwise a stored text is sent, not rewritten.
        """
        reply = await self._queries.reply_for_update(update_id)
        if reply is not None and reply.delivered:
            return True
        if await self._queries.reply_started(update_id):
            if reply is not None:
                await self._queries.presume_delivered(reply.generation_id)
            log.info("update %d: its reply was on its way when its process stopped; "
                     "not sent again", update_id)  # fmt: skip
            return True
        if reply is None:
            return False
        log.info("update %d: sending the text a stopped process had stored", update_id)
        await self._redeliver(update, reply)
        return True

    async def _done(self, update_id: int) -> None:
        try:
            await self._handled.add(update_id)
        except Exception as exc:  # the claim runs out; the next taker checks what is stored
            log.warning("could not mark update %d handled: %s", update_id, exc)
