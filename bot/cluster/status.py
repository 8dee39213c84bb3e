"""What ``/models`` says about the replicas: which version each live
replica serves, from the heartbeat rows. Nothing on SQLite (one process, no heartbeat)."""

from __future__ import annotations

from bot.cluster.heartbeat import live_window
from bot.storage.database import is_sqlite
from bot.storage.queries.replicas import ReplicaQueries
from bot.storage.schema import utcnow
from bot.telegram.display import printable
from bot.telegram.services import Services
from bot.texts import t


async def replica_lines(services: Services, lang: str | None) -> list[str]:
    settings = services.settings
    if is_sqlite(settings.database_url):
        return []
    window = live_window(settings.replica_heartbeat_s)
    replicas = await ReplicaQueries(services.storage.session_maker).live_replicas(window)
    if not replicas:
        return []
    now = utcnow()
    lines = [t(lang, "models_replicas", window=round(window.total_seconds()))]
    for replica in replicas:
        version = "?" if replica.model_version_id is None else f"#{replica.model_version_id}"
        seconds = max(0, round((now - replica.last_seen_at).total_seconds()))
        lines.append(
            t(
                lang,
                "models_replica",
                host=printable(replica.host),
                pid=replica.pid,
                version=version,
                seconds=seconds,
            )
        )
    return lines
