"""Starting and stopping what a bot process does for the cluster.

Called from the application's start-up and shutdown (bot/app.py): the version follower
always (its periodic check is harmless with one process; on PostgreSQL it also reloads
access decisions another replica changed), the heartbeat on PostgreSQL,
and the shared per-user counters in cluster mode (PostgreSQL and webhooks, i.e. possibly
several replicas behind a proxy).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.cluster.heartbeat import Heartbeat
from bot.cluster.versions import VersionFollower
from bot.rules import limits
from bot.rules.access import access_of
from bot.storage.database import is_sqlite
from bot.storage.notify import ACCESS_CHANNEL
from bot.storage.queries.limits import SharedCounters
from bot.storage.queries.replicas import ReplicaQueries
from bot.telegram.services import Services

KEY = "cluster"


@dataclass
class ClusterRuntime:
    follower: VersionFollower
    heartbeat: Heartbeat | None


def served_version(services: Services) -> int | None:
    version = services.engine.version
    return version if isinstance(version, int) else None


async def start(services: Services) -> None:
    settings = services.settings
    sessions = services.storage.session_maker
    if settings.cluster:
        services.extra[limits.KEY] = SharedCounters(sessions, settings.user_slot_ttl_s)
    heartbeat = None
    if not is_sqlite(settings.database_url):
        heartbeat = Heartbeat(
            ReplicaQueries(sessions),
            lambda: served_version(services),
            settings.replica_heartbeat_s,
            settings.replica_forget_s,
        )
        await heartbeat.start()

    async def follow() -> None:
        if services.retrain is not None:
            await services.retrain.follow_database()
        if heartbeat is not None:
            await heartbeat.report_if_changed()

    async def reload_access() -> None:
        await access_of(services).reload(services.storage)

    also: dict[str, Callable[[], Awaitable[None]]] = {}
    if not is_sqlite(settings.database_url):
        also[ACCESS_CHANNEL] = reload_access
    follower = VersionFollower(follow, settings.database_url, settings.version_check_s, also)
    await follower.start()
    services.extra[KEY] = ClusterRuntime(follower, heartbeat)


async def stop(services: Services) -> None:
    runtime = services.extra.pop(KEY, None)
    if not isinstance(runtime, ClusterRuntime):
        return
    await runtime.follower.stop()
    if runtime.heartbeat is not None:
        await runtime.heartbeat.stop()
