"""A process's heartbeat row: what ``/models`` lists as live replicas, and how a
trainer's death is noticed on any host (its row goes silent; bot/training/owner.py).

Each bot process writes its row at start, refreshes it every ``REPLICA_HEARTBEAT_S`` with
the version its engine serves at that moment, and deletes it at an orderly stop. A
replica killed outright leaves its row behind: it stops being listed after three missed
heartbeats and is deleted by the next heartbeat of anyone after ``REPLICA_FORGET_S``.
A failed write is retried at the next beat (an outage logged once when it begins and
once when it ends); it never affects serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import timedelta

from bot.storage.queries.replicas import BOT, ReplicaQueries
from bot.storage.schema import utcnow

log = logging.getLogger(__name__)

MISSED_BEATS = 3  # a replica unheard of for this many intervals is no longer shown


def new_replica_id() -> str:
    """Host and pid say where to look; the random part keeps a restarted pid distinct."""
    return f"{socket.gethostname()[:100]}-{os.getpid()}-{secrets.token_hex(3)}"


class Heartbeat:
    def __init__(
        self,
        replicas: ReplicaQueries,
        served_version: Callable[[], int | None],
        interval_s: float,
        forget_s: float,
        *,
        role: str = BOT,
        process_id: str | None = None,
    ) -> None:
        # A trainer's row is named as its runs' owner, so a silent one is found by it.
        self.replica_id = process_id or new_replica_id()
        self._role = role
        self._replicas = replicas
        self._served = served_version
        self._interval_s = interval_s
        self._forget = timedelta(seconds=forget_s)
        self._started_at = utcnow()
        self._task: asyncio.Task[None] | None = None
        self._reported: int | None = None
        self._failed = 0  # beats failed in a row

    async def beat(self) -> None:
        served = self._served()
        await self._replicas.beat(
            self.replica_id,
            host=socket.gethostname()[:255],
            pid=os.getpid(),
            model_version_id=served,
            started_at=self._started_at,
            forget_after=self._forget,
            role=self._role,
            beat_s=self._interval_s,
        )
        self._reported = served

    async def _try_beat(self) -> None:
        """Beat; a database outage is one line when it begins and one when it ends, not
        a line per beat (a trainer beats every few seconds)."""
        try:
            await self.beat()
        except Exception as exc:  # never affects serving; the next beat tries again
            self._failed += 1
            if self._failed == 1:
                log.warning("%s heartbeat failed: %s; retrying every beat",
                            self._role, type(exc).__name__)  # fmt: skip
            return
        if self._failed:
            log.info("%s heartbeat written again after %d failed beat(s)", self._role,
                     self._failed)  # fmt: skip
            self._failed = 0

    async def report_if_changed(self) -> None:
        """Beat now if the served version changed since the last beat, so /models shows a
        swap at once rather than up to one interval later."""
        if self._served() != self._reported:
            await self._try_beat()

    async def start(self) -> None:
        await self._try_beat()  # never stops start-up; the loop tries again
        self._task = asyncio.create_task(self._loop(), name=f"{self._role} heartbeat")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self._try_beat()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self._replicas.remove_replica(self.replica_id)
        except Exception as exc:  # it ages out instead
            log.warning("could not remove this replica's heartbeat row: %s", type(exc).__name__)


def live_window(interval_s: float) -> timedelta:
    return timedelta(seconds=interval_s * MISSED_BEATS)
