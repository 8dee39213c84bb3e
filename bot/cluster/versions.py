"""Every replica serves the version the database says is active.

Two paths lead to ``RetrainManager.follow_database()`` (which loads the active version
and hot-swaps it into the engine; idempotent):

* PostgreSQL ``LISTEN`` on a dedicated asyncpg connection. ``pg_notify`` is issued in the
  transaction that changes ``is_active`` (bot/storage/notify.py), so a notification means
  a committed change. The connection is watched (a termination listener and a ping
  every few seconds) and reopened with backoff after a drop; every (re)connection is
  followed by one check, since a change may have committed while nobody listened.
* A periodic check every ``VERSION_CHECK_S``, the fallback should a notification be lost,
  and the only path on SQLite (one process, whose engine changes with the database in
  the same call, so it normally finds nothing to do).

Notifications arriving while a check runs coalesce into one more check. The same
connection carries other channels (access decisions: a ``/block`` on one replica stops
the user on every replica), each with its own call and check loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import make_url

from bot.storage.notify import VERSION_CHANNEL

log = logging.getLogger(__name__)

PING_S = 5.0  # how soon a silently dropped listener connection is noticed
MAX_BACKOFF_S = 30.0
# What pg_stat_activity shows for the listening connection.
LISTENER_NAME = "charlstm version listener"


def _waker(event: asyncio.Event) -> Callable[..., None]:
    def wake(*_: Any) -> None:
        event.set()

    return wake


def asyncpg_dsn(database_url: str) -> str | None:
    """The asyncpg DSN of a PostgreSQL ``DATABASE_URL``; None for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class _Follow:
    """What to call when ``channel`` is notified, and the event that wakes its loop."""

    channel: str
    call: Callable[[], Awaitable[None]]
    what: str  # for the log line when a call fails
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class VersionFollower:
    """Calls ``follow`` when told a version changed, and every ``interval_s`` anyway.

    ``also`` follows other channels the same way (channel -> call); replicas
    use it for access decisions (bot/storage/notify.py ``ACCESS_CHANNEL``).
    """

    def __init__(
        self,
        follow: Callable[[], Awaitable[None]],
        database_url: str,
        interval_s: float,
        also: dict[str, Callable[[], Awaitable[None]]] | None = None,
    ) -> None:
        self._follows = [_Follow(VERSION_CHANNEL, follow, "switch to the active model version")]
        for channel, call in (also or {}).items():
            self._follows.append(_Follow(channel, call, f"follow {channel}"))
        self._dsn = asyncpg_dsn(database_url)
        self._interval_s = interval_s
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = asyncio.Event()  # set while LISTEN is in place (for tests, /stats)

    async def start(self) -> None:
        for follow in self._follows:
            name = f"follow {follow.channel}"
            self._tasks.append(asyncio.create_task(self._check_loop(follow), name=name))
        if self._dsn is not None:
            self._tasks.append(asyncio.create_task(self._listen_loop(), name="version listen"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _check_loop(self, follow: _Follow) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(follow.wake.wait(), self._interval_s)
            follow.wake.clear()
            try:
                await follow.call()
            except Exception as exc:  # keep serving as is; retried next time
                log.warning("could not %s: %s", follow.what, exc)

    def _wake_all(self) -> None:
        for follow in self._follows:
            follow.wake.set()

    async def _listen(self, connection: asyncpg.Connection) -> None:
        """LISTEN on ``connection`` until it drops (always ends with an exception)."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _c: lost.set())
        for follow in self._follows:
            await connection.add_listener(follow.channel, _waker(follow.wake))
        self.listening.set()
        self._wake_all()  # a change may have committed while nobody listened
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), PING_S)
            if not lost.is_set():
                await connection.fetchval("SELECT 1", timeout=PING_S)
        raise ConnectionError("the connection was closed")

    async def _listen_loop(self) -> None:
        assert self._dsn is not None
        backoff = 1.0
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(
                    self._dsn, timeout=10, server_settings={"application_name": LISTENER_NAME}
                )
                await self._listen(connection)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.listening.is_set():
                    backoff = 1.0  # it had worked: this drop starts the backoff afresh
                self.listening.clear()
                log.warning(
                    "listening for model version changes failed (%s); retrying in %.0f s",
                    type(exc).__name__, backoff,
                )  # fmt: skip
            finally:
                self.listening.clear()
                if connection is not None:
                    connection.terminate()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
