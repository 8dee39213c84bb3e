"""Outgoing fairness: every message the bot sends is paced per chat and overall, and a
quiet chat's reply goes before a flooder's.

Telegram's documented flood limits (Bots FAQ, "My bot is hitting limits"): in one chat
avoid more than about one message per second (short bursts are tolerated, then 429);
in a group at most 20 messages per minute; overall about 30 messages per second. This
limiter implements them as sliding windows, defaults:

* a private chat: at most 3 messages in any 3 s (one a second, bursts of 3);
* a group, supergroup or channel: at most 20 in any 60 s;
* everything together: at most 30 in any 1 s.

A window counts a message from the moment it is handed to the HTTP client until one
window length after its answer came back, so however long a request spends on the way,
Telegram itself never sees more than the limit inside any window of its own clock.

Waiting messages sit in one FIFO per chat (a text split in parts stays in order).
Whenever a window opens, the chat whose head may go and that received the least
recently (a count decaying by half every minute) goes first; so while the overall
budget is short, a user who sent little is answered before a flooder's backlog, and a
flooder's private chat only ever gets its own one message a second.

Chat actions ("typing") are best effort: skipped while their chat has messages waiting
or a full window, and never counted. Answers 429 anyway (another process sharing the
token, say): that chat pauses for the ``retry_after`` Telegram gives and the request is
retried, up to ``max_retries`` times. Requests without a chat (getUpdates, getMe, ...)
are never held. The state is per process, like Telegram's view of one token would not
be: replicas sharing a token share these limits (issue "Scale-out").
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot import metrics

log = logging.getLogger(__name__)

Window = tuple[int, float]  # (messages, seconds)
PRIVATE_CHAT: Window = (3, 3.0)
GROUP_CHAT: Window = (20, 60.0)
OVERALL: Window = (30, 1.0)
LOAD_HALF_LIFE_S = 60.0
_UNPACED = frozenset({"sendchataction", "answercallbackquery", "answerinlinequery"})
_PACED_PREFIXES = ("send", "copymessage", "forwardmessage", "editmessage")


class _SlidingWindow:
    """At most ``limit`` messages in any ``period`` seconds, counted conservatively."""

    def __init__(self, window: Window) -> None:
        self.limit, self.period = window
        self.in_flight = 0
        self.done: deque[float] = deque()  # answer times, oldest first

    def free_at(self, now: float) -> float:
        """When the next message may start (``now`` if it may; inf: after an answer)."""
        while self.done and now - self.done[0] >= self.period:
            self.done.popleft()
        over = self.in_flight + len(self.done) - self.limit
        if over < 0:
            return now
        if over >= len(self.done):
            return math.inf
        return self.done[over] + self.period

    def finish(self, now: float) -> None:
        self.in_flight -= 1
        self.done.append(now)

    @property
    def idle(self) -> bool:
        return self.in_flight == 0 and not self.done


def retry_after_seconds(error: RetryAfter) -> float:
    """How long Telegram asked us to wait, in seconds.

    The public ``retry_after`` is an int or a timedelta depending on PTB's PTB_TIMEDELTA
    switch, and warns while that switch is off; the timedelta underneath is what PTB's
    own rate limiter reads, so it is read first.
    """
    delay = getattr(error, "_retry_after", None)
    if not isinstance(delay, timedelta):  # a PTB without the private attribute
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            delay = error.retry_after
    return delay.total_seconds() if isinstance(delay, timedelta) else float(delay)


@dataclass
class _Ticket:
    seq: int
    future: asyncio.Future[None]


@dataclass
class _Chat:
    window: _SlidingWindow
    waiting: deque[_Ticket] = field(default_factory=deque)
    paused_until: float = 0.0
    load: float = 0.0  # messages received recently, decaying
    load_at: float = 0.0

    def recent(self, now: float) -> float:
        decay: float = 0.5 ** ((now - self.load_at) / LOAD_HALF_LIFE_S)
        return self.load * decay

    def count(self, now: float) -> None:
        self.load, self.load_at = self.recent(now) + 1.0, now


def _chat_key(data: dict[str, Any]) -> int | str | None:
    chat_id = data.get("chat_id")
    if chat_id is None:
        return None
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return str(chat_id)  # @channelusername


def _paced(endpoint: str) -> bool:
    name = endpoint.lower()
    return name not in _UNPACED and name.startswith(_PACED_PREFIXES)


class FairRateLimiter(BaseRateLimiter[int]):
    """PTB rate limiter: per-chat and overall sliding windows, least-served chat first.

    ``rate_limit_args`` of a request, if given, is its number of retries after a 429.
    """

    MAX_IDLE_CHATS = 10_000  # forgotten beyond this; a forgotten chat starts fresh

    def __init__(
        self,
        *,
        private: Window = PRIVATE_CHAT,
        group: Window = GROUP_CHAT,
        overall: Window = OVERALL,
        max_retries: int = 3,
    ) -> None:
        self._private, self._group = private, group
        self._overall = _SlidingWindow(overall)
        self._chats: dict[int | str, _Chat] = {}
        self._queued: dict[int | str, _Chat] = {}  # the chats with messages waiting
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self.max_retries = max_retries
        self.retried = 0  # 429s answered by Telegram and retried (for the tests and logs)

    async def initialize(self) -> None:
        """Nothing to start: the limiter works inside the callers' coroutines."""

    async def shutdown(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # ------------------------------------------------------------------ scheduling

    def _chat(self, key: int | str) -> _Chat:
        chat = self._chats.get(key)
        if chat is None:
            if len(self._chats) >= self.MAX_IDLE_CHATS:
                self._forget_idle()
            private = isinstance(key, int) and key > 0
            chat = _Chat(_SlidingWindow(self._private if private else self._group))
            self._chats[key] = chat
        return chat

    def _forget_idle(self) -> None:
        for key in [k for k, c in self._chats.items() if c.window.idle and not c.waiting]:
            del self._chats[key]

    def _dispatch(self) -> None:
        """Start every message that may start now, least-served chat first."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            wake = self._overall.free_at(now)
            if wake > now:
                break
            best: tuple[float, int, _Chat] | None = None
            wake = math.inf
            for key, chat in list(self._queued.items()):
                while chat.waiting and chat.waiting[0].future.done():  # its caller gave up
                    chat.waiting.popleft()
                if not chat.waiting:
                    del self._queued[key]
                    continue
                ready = max(chat.window.free_at(now), chat.paused_until)
                if ready > now:
                    wake = min(wake, ready)
                    continue
                candidate = (chat.recent(now), chat.waiting[0].seq, chat)
                if best is None or candidate[:2] < best[:2]:
                    best = candidate
            if best is None:
                break
            chat = best[2]
            ticket = chat.waiting.popleft()
            chat.window.in_flight += 1
            self._overall.in_flight += 1
            ticket.future.set_result(None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if wake != math.inf:
            self._timer = loop.call_at(wake, self._dispatch)

    async def _acquire(self, key: int | str, chat: _Chat) -> None:
        ticket = _Ticket(next(self._seq), asyncio.get_running_loop().create_future())
        chat.waiting.append(ticket)
        self._queued[key] = chat
        self._dispatch()
        try:
            await ticket.future
        except asyncio.CancelledError:
            if ticket.future.done() and not ticket.future.cancelled():
                self._release(chat)  # granted just as the caller gave up
            raise

    def _release(self, chat: _Chat) -> None:
        now = asyncio.get_running_loop().time()
        chat.window.finish(now)
        self._overall.finish(now)
        chat.count(now)
        self._dispatch()

    # ------------------------------------------------------------------- requests

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        key = _chat_key(data)
        if key is None:
            return await callback(*args, **kwargs)
        if endpoint.lower() == "sendchataction":
            chat = self._chats.get(key)
            now = asyncio.get_running_loop().time()
            if chat is not None and (chat.waiting or chat.window.free_at(now) > now):
                return True  # best effort: the chat's messages matter more
            return await callback(*args, **kwargs)
        if not _paced(endpoint):
            return await callback(*args, **kwargs)
        chat = self._chat(key)
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        for attempt in itertools.count():
            queued = time.perf_counter()
            await self._acquire(key, chat)
            metrics.PACER_WAIT.observe(time.perf_counter() - queued)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= retries:
                    log.warning("flood control for chat %s after %d retries", key, retries)
                    raise
                seconds = retry_after_seconds(exc)
                log.info("flood control for chat %s: waiting %.0f s", key, seconds)
                chat.paused_until = asyncio.get_running_loop().time() + seconds + 0.1
                self.retried += 1
                metrics.RETRIES.labels("pacer").inc()
            finally:
                self._release(chat)
        raise AssertionError("unreachable")  # pragma: no cover
