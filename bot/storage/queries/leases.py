"""Who drives a training run: trainers' leases, the editor of its status message,
and runs whose trainer died.

Each claim is one conditional ``UPDATE``, so of two trainers or replicas racing for the
same run exactly one gets it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update

from bot.storage.queries.training import TrainingQueries, _after
from bot.storage.records import (
    TrainingRun,
    _training_run,
)
from bot.storage.schema import (
    TrainingRunRow,
    TrainingStatus,
    utcnow,
)


class RunLeaseQueries(TrainingQueries):
    """Owners and leases of training runs (cluster mode's trainers)."""

    async def claim_queued_run(
        self, run_id: int, owner: str, lease_s: float, checkpoint_path: str
    ) -> TrainingRun | None:
        """Take a ``queued`` run for ``owner`` (a trainer); None if it is not queued any more.

        Sets where this trainer writes the checkpoint: its own CHECKPOINT_DIR.
        """
        stmt = (
            update(TrainingRunRow)
            .where(
                TrainingRunRow.id == run_id,
                TrainingRunRow.status == TrainingStatus.QUEUED.value,
            )
            .values(owner=owner, lease_expires_at=_after(lease_s), checkpoint_path=checkpoint_path)
        )
        return await self._update_one(run_id, stmt)

    async def take_over_finishing(
        self, run_id: int, owner: str, lease_s: float, dead_owners: Collection[str] = ()
    ) -> TrainingRun | None:
        """Take a ``finishing`` run whose owner's lease expired, is dead, or that has none."""
        stmt = (
            update(TrainingRunRow)
            .where(
                TrainingRunRow.id == run_id,
                TrainingRunRow.status == TrainingStatus.FINISHING.value,
                or_(
                    TrainingRunRow.owner.is_(None),
                    TrainingRunRow.owner == owner,
                    TrainingRunRow.lease_expires_at.is_(None),
                    TrainingRunRow.lease_expires_at < utcnow(),
                    TrainingRunRow.owner.in_(list(dead_owners)),
                ),
            )
            .values(owner=owner, lease_expires_at=_after(lease_s))
        )
        return await self._update_one(run_id, stmt)

    async def renew_lease(self, run_id: int, owner: str, lease_s: float) -> TrainingRun | None:
        """Extend ``owner``'s lease of a live run; the run as it is now (None if gone).

        The caller reads the status from the result: ``cancelled`` means an admin (on
        any replica) cancelled it, and the trainer stops.
        """
        stmt = (
            update(TrainingRunRow)
            .where(
                TrainingRunRow.id == run_id,
                TrainingRunRow.owner == owner,
                TrainingRunRow.live.is_not(None),
            )
            .values(lease_expires_at=_after(lease_s))
        )
        async with self._sessions() as session, session.begin():
            await session.execute(stmt)
            row = await session.get(TrainingRunRow, run_id, populate_existing=True)
            return None if row is None else _training_run(row)

    async def release_lease(self, run_id: int, owner: str) -> None:
        """``owner`` stops driving the run (a graceful stop): anyone may take it over now."""
        stmt = (
            update(TrainingRunRow)
            .where(TrainingRunRow.id == run_id, TrainingRunRow.owner == owner)
            .values(lease_expires_at=utcnow())
        )
        async with self._sessions() as session, session.begin():
            await session.execute(stmt)

    async def save_progress(self, run_id: int, owner: str, progress: Mapping[str, Any]) -> bool:
        """Record the run's progress for other processes; False if ``owner`` lost the run."""
        stmt = (
            update(TrainingRunRow)
            .where(TrainingRunRow.id == run_id, TrainingRunRow.owner == owner)
            .values(progress=dict(progress))
        )
        async with self._sessions() as session, session.begin():
            result = cast(CursorResult[Any], await session.execute(stmt))
            return bool(result.rowcount)

    async def claim_editor(self, run_id: int, editor: str, lease_s: float) -> bool:
        """Be (or stay) the one process that edits the run's status message."""
        stmt = (
            update(TrainingRunRow)
            .where(
                TrainingRunRow.id == run_id,
                or_(
                    TrainingRunRow.editor.is_(None),
                    TrainingRunRow.editor == editor,
                    TrainingRunRow.editor_lease_expires_at.is_(None),
                    TrainingRunRow.editor_lease_expires_at < utcnow(),
                ),
            )
            .values(editor=editor, editor_lease_expires_at=_after(lease_s))
        )
        async with self._sessions() as session, session.begin():
            result = cast(CursorResult[Any], await session.execute(stmt))
            return bool(result.rowcount)

    async def fail_abandoned_runs(
        self, reason: str, dead_owners: Collection[str] = ()
    ) -> list[int]:
        """Fail ``queued``/``running`` runs nobody drives any more; their ids.

        Nobody drives a run whose lease expired (or that never had one: rows of earlier
        versions), or whose owner is known dead (``dead_owners``: processes of this host
        that no longer exist). A run another live process renews is never touched.
        """
        abandoned = or_(
            TrainingRunRow.lease_expires_at.is_(None),
            TrainingRunRow.lease_expires_at < utcnow(),
            TrainingRunRow.owner.in_(list(dead_owners)),
        )
        stmt = (
            update(TrainingRunRow)
            .where(
                TrainingRunRow.status.in_(
                    [TrainingStatus.QUEUED.value, TrainingStatus.RUNNING.value]
                ),
                abandoned,
            )
            .values(
                status=TrainingStatus.FAILED.value, live=None, error=reason, finished_at=utcnow()
            )
            .returning(TrainingRunRow.id)
        )
        async with self._sessions() as session, session.begin():
            return list(await session.scalars(stmt))

    async def live_owners(self) -> list[str]:
        """The owners of live runs (to find the ones that are dead processes of this host)."""
        stmt = select(TrainingRunRow.owner).where(
            TrainingRunRow.live.is_not(None), TrainingRunRow.owner.is_not(None)
        )
        async with self._sessions() as session:
            return [o for o in await session.scalars(stmt) if o]
