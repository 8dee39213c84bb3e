"""Who drives a training run, and proof of life: owner names, leases, heartbeats.

Several processes may share one database (bot replicas, trainers on other hosts), so
"nobody drives this run" cannot be guessed from one process's memory. The driver writes
its name into the run's row (``owner``: ``role@host:pid:instance``) and renews a lease
(``lease_expires_at``) every third of its length while it works. A run is abandoned when
its lease ran out, when its owner is a process of *this* host that no longer exists
(noticed at once), or when its owner is a trainer, on any host, whose heartbeat row went
silent for a few beats (bot/cluster/heartbeat.py): a killed trainer is noticed within
seconds, however long the lease. A graceful stop hands its run over by ending its lease
at once. Nothing else fails a live run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection

from bot.storage import Storage, TrainingRun
from bot.storage.queries.replicas import ReplicaQueries
from bot.training.cleanup import discard_temporaries_of
from bot.training.retry import describe

log = logging.getLogger(__name__)

_INSTANCE = uuid.uuid4().hex[:8]
HOST_CHARS = 64
# A trainer unheard of for this many of its heartbeat intervals (TRAINER_HEARTBEAT_S,
# recorded in its row) is dead, whatever its run's lease says.
MISSED_BEATS = 3


def _host() -> str:
    # Cut so that a name fits a heartbeat row's id (128 characters) as well as a run's owner.
    return socket.gethostname()[:HOST_CHARS]


def identity(role: str) -> str:
    """A name for this process (and this instance of ``role`` in it), unique enough."""
    return f"{role}@{_host()}:{os.getpid()}:{_INSTANCE}:{uuid.uuid4().hex[:6]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def is_dead_here(owner: str, me: str) -> bool:
    """Whether ``owner`` is a process of this host that is gone (never ``me``)."""
    if owner == me:
        return False
    try:
        host, pid_text, *_ = owner.split("@", 1)[1].split(":")
        pid = int(pid_text)
    except (IndexError, ValueError):
        return False
    if host != _host() or pid == os.getpid():
        # Another host: its heartbeat (a trainer's) or its lease tells. This process:
        # alive (another instance in it, e.g. a second replica in one test process,
        # hands over by its lease).
        return False
    return not _alive(pid)


async def silent(storage: Storage, owners: Collection[str], me: str) -> list[str]:
    """Of ``owners``, the trainers (on any host) whose heartbeat went silent."""
    others = [o for o in owners if o != me]
    return await ReplicaQueries(storage.session_maker).silent_trainers(others, MISSED_BEATS)


async def is_dead(storage: Storage, owner: str, me: str) -> bool:
    """Whether ``owner`` is gone: a process of this host that no longer exists, or a
    trainer anywhere that stopped beating."""
    return is_dead_here(owner, me) or bool(await silent(storage, [owner], me))


async def dead_owners(storage: Storage, me: str) -> list[str]:
    owners = await storage.live_owners()
    here = [o for o in owners if is_dead_here(o, me)]
    return here + await silent(storage, [o for o in owners if o not in here], me)


async def fail_abandoned(storage: Storage, me: str, reason: str) -> list[int]:
    """Fail every queued/running run nobody drives any more; their ids."""
    failed = await storage.fail_abandoned_runs(reason, await dead_owners(storage, me))
    if failed:
        log.warning("failed training run(s) %s: %s", failed, reason)
    for run_id in failed:  # a writer killed mid-write left them; on this host, they go now
        run = await storage.get_training_run(run_id)
        if run is not None and run.checkpoint_path:
            discard_temporaries_of(run.checkpoint_path)
    return failed


OnBeat = Callable[[TrainingRun], Awaitable[None]]


@contextlib.asynccontextmanager
async def heartbeat(
    storage: Storage, run_id: int, owner: str, lease_s: float, on_beat: OnBeat | None = None
) -> AsyncIterator[None]:
    """Renew ``owner``'s lease of the run while the body runs; ``on_beat`` sees the row."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(lease_s / 3)
            try:
                run = await storage.renew_lease(run_id, owner, lease_s)
            except Exception as exc:  # the next beat tries again; the lease has slack
                log.warning("run %d: could not renew the lease: %s", run_id, describe(exc))
                continue
            if run is not None and on_beat is not None:
                await on_beat(run)

    task = asyncio.create_task(beat(), name=f"lease-run-{run_id}")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
