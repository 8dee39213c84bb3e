"""Telling other processes that the active model version (or an access decision) changed
(part b).

On PostgreSQL a ``pg_notify`` is issued inside the very transaction that changes
``model_versions.is_active``: PostgreSQL delivers a notification only when its
transaction commits, so no listener ever hears of a change that rolled back, and none
misses one that committed (bar a dropped listener connection, which the periodic check
of bot/cluster/versions.py covers). On SQLite there is one process and nothing to tell.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The LISTEN/NOTIFY channel every replica listens on (bot/cluster/versions.py).
VERSION_CHANNEL = "charlstm_model_version"


async def notify_version_changed(session: AsyncSession, version_id: int) -> None:
    """Queue a notification that ``version_id`` is now active; sent at commit."""
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": VERSION_CHANNEL, "payload": str(version_id)},
    )


# Access decisions (/allow, /block, /unblock): every replica reloads its in-memory copy.
ACCESS_CHANNEL = "charlstm_access"


async def notify_access_changed(session: AsyncSession, user_id: int) -> None:
    """Queue a notification that ``user_id``'s access changed; sent at commit."""
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": ACCESS_CHANNEL, "payload": str(user_id)},
    )
