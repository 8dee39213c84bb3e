"""Per-user limits on /write: texts in flight and a request rate, each refusal told once.

Two limits, both off when set to 0 and neither applied to admins:

* ``USER_MAX_PENDING``: a user with that many /write being written (waiting or running)
  gets "you already have N texts being written" instead of another one.
* ``USER_RATE_PER_MINUTE``: a token bucket per user holding that many tokens, refilled at
  that rate; a /write without a token gets "try again in N s".

A flood must never make the bot an amplifier, so each refusal is *told once per burst*:
the pending notice again only after the user's texts have all finished, the rate notice
again only after the bucket has refilled completely. Everything else is silence.

The counters sit behind :class:`Counters`, one small async interface, so that the
single-process :class:`MemoryCounters` is replaced by the PostgreSQL-backed
``bot.storage.queries.limits.SharedCounters`` when several replicas serve one bot (cluster
mode). A reserved pending slot is released when the task handling the update ends
(whatever way it ends), so :func:`admit` is the only call a handler needs.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol, cast

from telegram import Update
from telegram.ext import ContextTypes

from bot import metrics
from bot.telegram.replies import reply_key
from bot.telegram.services import Services, get_services
from bot.texts import t

KEY = "limits"

PENDING = "pending"
RATE = "rate"


class Counters(Protocol):
    """Per-user counters; each method is one atomic step (a transaction, in PostgreSQL)."""

    async def begin(self, user_id: int, max_pending: int) -> bool:
        """Reserve one of the user's ``max_pending`` slots; False when all are taken."""

    async def end(self, user_id: int) -> None:
        """Give back a slot taken by :meth:`begin`."""

    async def take_token(self, user_id: int, per_minute: int) -> float:
        """Take a token: 0.0 when taken, else the seconds until one is available."""

    async def refused(self, user_id: int, kind: str) -> bool:
        """Count a refusal; True when it is the first of its burst (tell the user).
        Kinds other than PENDING and RATE are only counted (and answer True)."""

    async def refusals_today(self) -> dict[str, int]:
        """Refusals per kind since midnight UTC."""

    async def pending_by_user(self) -> dict[int, int]:
        """Users with texts in flight, and how many."""


@dataclass
class _UserState:
    pending: int = 0
    tokens: float = math.inf  # full; set to the capacity on first use
    refilled_at: float = 0.0
    told_pending: bool = False
    told_rate: bool = False


class MemoryCounters:
    """:class:`Counters` in this process's memory (one bot process)."""

    MAX_USERS = 100_000  # idle users are forgotten beyond this; a fresh state is the same

    def __init__(self) -> None:
        self._users: dict[int, _UserState] = {}
        self._day: date = datetime.now(UTC).date()
        self._refusals: Counter[str] = Counter()

    def _state(self, user_id: int) -> _UserState:
        state = self._users.get(user_id)
        if state is None:
            if len(self._users) >= self.MAX_USERS:
                self._forget_idle()
            state = self._users[user_id] = _UserState()
        return state

    def _forget_idle(self) -> None:
        # Forgetting a user with nothing in flight only forgives their rate: harmless.
        idle = [uid for uid, s in self._users.items() if s.pending == 0]
        for uid in idle:
            del self._users[uid]

    @staticmethod
    def _refill(state: _UserState, per_minute: int, now: float) -> None:
        capacity = float(per_minute)
        if state.tokens == math.inf:
            state.tokens, state.refilled_at = capacity, now
            return
        state.tokens = min(capacity, state.tokens + (now - state.refilled_at) * per_minute / 60)
        state.refilled_at = now
        if state.tokens >= capacity:
            state.told_rate = False  # the burst is over: a new one may be told again

    async def begin(self, user_id: int, max_pending: int) -> bool:
        state = self._state(user_id)
        if state.pending >= max_pending:
            return False
        state.pending += 1
        return True

    async def end(self, user_id: int) -> None:
        state = self._users.get(user_id)
        if state is None or state.pending == 0:
            return
        state.pending -= 1
        if state.pending == 0:
            state.told_pending = False

    async def take_token(self, user_id: int, per_minute: int) -> float:
        state = self._state(user_id)
        self._refill(state, per_minute, time.monotonic())
        if state.tokens >= 1.0:
            state.tokens -= 1.0
            return 0.0
        return (1.0 - state.tokens) * 60 / per_minute

    async def refused(self, user_id: int, kind: str) -> bool:
        today = datetime.now(UTC).date()
        if today != self._day:
            self._day, self._refusals = today, Counter()
        self._refusals[kind] += 1
        if kind not in (PENDING, RATE):
            return True
        state = self._state(user_id)
        attribute = "told_pending" if kind == PENDING else "told_rate"
        if getattr(state, attribute):
            return False
        setattr(state, attribute, True)
        return True

    async def refusals_today(self) -> dict[str, int]:
        if datetime.now(UTC).date() != self._day:
            return {}
        return dict(self._refusals)

    async def pending_by_user(self) -> dict[int, int]:
        return {uid: s.pending for uid, s in self._users.items() if s.pending}


def counters_of(services: Services) -> Counters:
    """The process's counters (kept with the other services, made on first use)."""
    counters = services.extra.get(KEY)
    if counters is None:
        counters = services.extra[KEY] = MemoryCounters()
    # in cluster mode start-up puts bot.storage.queries.limits.SharedCounters here.
    return cast(Counters, counters)


_releases: set[asyncio.Task[None]] = set()
# The release of the slot held by the update this task handles (each handler runs in its
# own task, and so in its own copy of the context).
_held: ContextVar[Callable[[], None] | None] = ContextVar("held_pending_slot", default=None)


def _release_when_done(counters: Counters, user_id: int) -> None:
    """Give the slot back at :func:`written`, or when the task handling this update ends,
    however it ends, whichever comes first."""
    task = asyncio.current_task()
    if task is None:  # pragma: no cover - handlers always run in a task
        return
    released = False

    def release(_: object = None) -> None:
        nonlocal released
        if released:
            return
        released = True
        releasing = asyncio.get_running_loop().create_task(counters.end(user_id))
        _releases.add(releasing)
        releasing.add_done_callback(_releases.discard)

    _held.set(release)
    task.add_done_callback(release)


def written() -> None:
    """The text of this update has been sent: it no longer counts as being written, even
    while the handler still records its delivery (a user who got their text and sends the
    next one at once must not be told to wait)."""
    release = _held.get()
    if release is not None:
        release()


Tell = Callable[[str], Awaitable[None]]


async def admit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, tell: Tell | None = None
) -> bool:
    """Whether this /write may go on; if not, the user has been told (once per burst).

    ``tell`` says a refusal (already in the user's language) where a reply cannot: a
    button's alert, an inline query's answer; by default it is a reply."""
    services = get_services(context)

    async def say(key: str, **values: object) -> None:
        if tell is None:
            await reply_key(update, key, **values)
        else:
            user = update.effective_user
            await tell(t(user.language_code if user else None, key, **values))

    user = update.effective_user
    settings = services.settings
    if user is None or settings.is_admin(user.id):
        return True
    counters = counters_of(services)
    # Updates handled one at a time can never have two texts in flight, and then the
    # handling task is the long-lived fetcher, which would never give a slot back.
    reserve = settings.user_max_pending > 0 and context.application.concurrent_updates > 1
    if reserve and not await counters.begin(user.id, settings.user_max_pending):
        metrics.generation(_source(update), metrics.REFUSED, "limit_pending")
        if await counters.refused(user.id, PENDING):
            await say("limit_pending", count=settings.user_max_pending)
        return False
    if settings.user_rate_per_minute > 0:
        wait = await counters.take_token(user.id, settings.user_rate_per_minute)
        if wait > 0:
            metrics.generation(_source(update), metrics.REFUSED, "limit_rate")
            if reserve:
                await counters.end(user.id)
            if await counters.refused(user.id, RATE):
                await say(
                    "limit_rate",
                    rate=settings.user_rate_per_minute,
                    seconds=max(1, math.ceil(wait)),
                )
            return False
    if reserve:
        _release_when_done(counters, user.id)
    return True


def _source(update: Update) -> str:
    """Which way of asking for a text this update is, for the metrics."""
    if update.callback_query is not None:
        return metrics.BUTTON
    return metrics.INLINE if update.inline_query is not None else metrics.WRITE


async def count_refusal(services: Services, kind: str, user_id: int) -> None:
    """Count a refusal made elsewhere (the engine's full queue, access) for /stats."""
    await counters_of(services).refused(user_id, kind)
