"""Model versions: registering, activating, discarding, pinning and pruning."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NotRequired, TypedDict, Unpack

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.notify import notify_version_changed
from bot.storage.records import (
    ModelVersion,
    ModelVersionActiveError,
    ModelVersionNotFoundError,
    ModelVersionPrunedError,
    TrainingRunNotFoundError,
    TrainingRunStateError,
    _model_version,
)
from bot.storage.schema import (
    BlobRow,
    CorpusRow,
    GenerationRow,
    ModelVersionRow,
    TrainingRunRow,
    TrainingStatus,
    utcnow,
)
from bot.storage.session import (
    Queries,
)


class VersionFacts(TypedDict):
    """What a registered version records about its checkpoint; the same for a version
    registered by hand (the default model, tests) and one a training run produced."""

    checkpoint_path: str
    checkpoint_sha256: str
    corpus_sha256: str
    corpus_chars: int
    vocab_size: int
    steps: int
    train_loss: NotRequired[float | None]
    val_loss: NotRequired[float | None]
    corpus_id: NotRequired[int | None]


async def _insert_version(session: AsyncSession, activate: bool, **values: Any) -> ModelVersionRow:
    """Insert a version row; with ``activate``, it becomes the only active one."""
    if activate:
        # Before the insert: the partial unique index allows one active row at a time.
        await session.execute(
            update(ModelVersionRow)
            .where(ModelVersionRow.is_active.is_(True))
            .values(is_active=False)
        )
    row = ModelVersionRow(is_active=activate, pinned=False, **values)
    session.add(row)
    await session.flush()
    if activate:
        await notify_version_changed(session, row.id)  # sent at commit
    return row


class ModelVersionQueries(Queries):
    """Model versions."""

    # --------------------------------------------------------------- model versions

    async def register_model_version(
        self, *, note: str | None = None, activate: bool = False, **facts: Unpack[VersionFacts]
    ) -> ModelVersion:
        """Record a trained checkpoint; with ``activate``, it becomes the only active one."""
        async with self._sessions() as session, session.begin():
            row = await _insert_version(session, activate, note=note, **facts)
            return _model_version(row)

    async def register_run_version(
        self, run_id: int, *, activate: bool, **facts: Unpack[VersionFacts]
    ) -> ModelVersion:
        """Register the version a ``finishing`` run produced, and link the run to it.

        Idempotent: the version and the link are written in one transaction, so a retry
        (or a resumption after a restart) finds the link and returns the same version
        instead of registering a duplicate. Raises TrainingRunStateError when the run
        is not ``finishing`` (it was cancelled or failed meanwhile).
        """
        async with self._sessions() as session, session.begin():
            run = await session.get(TrainingRunRow, run_id, with_for_update=True)
            if run is None:
                raise TrainingRunNotFoundError(run_id)
            if run.model_version_id is not None:
                existing = await session.get(ModelVersionRow, run.model_version_id)
                if existing is not None:
                    return _model_version(existing)
            if run.status != TrainingStatus.FINISHING.value:
                raise TrainingRunStateError(f"training run {run_id} is {run.status}")
            row = await _insert_version(session, activate, note=f"training run {run_id}", **facts)
            run.model_version_id = row.id
            await session.flush()
            return _model_version(row)

    async def recent_seeds(self, since: datetime, limit: int = 5000) -> list[tuple[int, str]]:
        """(user id, seed) of the latest generations since ``since``, newest first.

        Used to warn an admin how many users' seeds a new model would no longer know.
        """
        stmt = (
            select(GenerationRow.user_id, GenerationRow.seed)
            .where(GenerationRow.created_at >= since)
            .order_by(GenerationRow.id.desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            return [(int(u), str(s)) for u, s in (await session.execute(stmt)).all()]

    async def activate_model_version(self, version_id: int) -> ModelVersion:
        """Make ``version_id`` the active version and deactivate the rest, atomically.

        A pruned version is refused (ModelVersionPrunedError); the row lock orders this
        against a concurrent pruning, which never takes the active version.
        """
        async with self._sessions() as session, session.begin():
            row = await session.get(ModelVersionRow, version_id, with_for_update=True)
            if row is None:
                raise ModelVersionNotFoundError(version_id)
            if row.pruned_at is not None:
                raise ModelVersionPrunedError(version_id)
            await session.execute(
                update(ModelVersionRow)
                .where(ModelVersionRow.is_active.is_(True), ModelVersionRow.id != version_id)
                .values(is_active=False)
            )
            row.is_active = True
            await session.flush()
            await notify_version_changed(session, row.id)  # sent at commit
            return _model_version(row)

    async def active_model_version(self) -> ModelVersion | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(ModelVersionRow).where(ModelVersionRow.is_active.is_(True))
            )
            return None if row is None else _model_version(row)

    async def get_model_version(self, version_id: int) -> ModelVersion | None:
        async with self._sessions() as session:
            row = await session.get(ModelVersionRow, version_id)
            return None if row is None else _model_version(row)

    async def list_model_versions(self, limit: int | None = None) -> list[ModelVersion]:
        """Model versions, newest first."""
        stmt = select(ModelVersionRow).order_by(ModelVersionRow.id.desc()).limit(limit)
        async with self._sessions() as session:
            return [_model_version(row) for row in await session.scalars(stmt)]

    async def discard_model_version(self, version_id: int) -> ModelVersion:
        """Delete an inactive version's row and return it (so the caller can delete the file).

        Generations and training runs keep existing, unlinked from the version. Raises
        ModelVersionNotFoundError, or ModelVersionActiveError for the active version.
        """
        async with self._sessions() as session, session.begin():
            row = await session.get(ModelVersionRow, version_id, with_for_update=True)
            if row is None:
                raise ModelVersionNotFoundError(version_id)
            if row.is_active:
                raise ModelVersionActiveError(version_id)
            discarded = _model_version(row)
            # Done here as well as by ON DELETE SET NULL, so that history survives even
            # on a SQLite connection opened without the foreign_keys pragma.
            for table in (GenerationRow, TrainingRunRow):
                await session.execute(
                    update(table)
                    .where(table.model_version_id == version_id)
                    .values(model_version_id=None)
                )
            await session.delete(row)
            return discarded

    # ---------------------------------------------------------------- retention

    async def set_model_version_pinned(self, version_id: int, pinned: bool) -> ModelVersion:
        """Pin (keep whatever the retention) or unpin a version; a pruned one cannot be
        pinned (ModelVersionPrunedError), and unpinning it changes nothing."""
        async with self._sessions() as session, session.begin():
            row = await session.get(ModelVersionRow, version_id, with_for_update=True)
            if row is None:
                raise ModelVersionNotFoundError(version_id)
            if pinned and row.pruned_at is not None:
                raise ModelVersionPrunedError(version_id)
            row.pinned = pinned
            return _model_version(row)

    async def prune_model_versions(self, keep_newest: int) -> list[ModelVersion]:
        """Mark pruned every version that is not active, not pinned and not among the
        ``keep_newest`` newest; the versions just pruned.

        Their rows stay (generations and runs keep naming them, /models shows them as
        pruned); their blobs are deleted in the same transaction unless an unpruned
        version, a corpus or a live run has the same bytes. Files on disk are the
        caller's to delete (bot/training/cleanup.py), once this has committed.
        """
        newest = select(ModelVersionRow.id).order_by(ModelVersionRow.id.desc())
        async with self._sessions() as session, session.begin():
            kept = list(await session.scalars(newest.limit(keep_newest)))
            rows = list(
                await session.scalars(
                    select(ModelVersionRow)
                    .where(
                        ModelVersionRow.pruned_at.is_(None),
                        ModelVersionRow.is_active.is_(False),
                        ModelVersionRow.pinned.is_(False),
                        ModelVersionRow.id.not_in(kept),
                    )
                    .order_by(ModelVersionRow.id)
                    .with_for_update()
                )
            )
            if not rows:
                return []
            now = utcnow()
            for row in rows:
                row.pruned_at = now
            await session.flush()
            await session.execute(
                delete(BlobRow).where(
                    BlobRow.sha256.in_({row.checkpoint_sha256 for row in rows}),
                    ~exists().where(
                        ModelVersionRow.checkpoint_sha256 == BlobRow.sha256,
                        ModelVersionRow.pruned_at.is_(None),
                    ),
                    ~exists().where(CorpusRow.sha256 == BlobRow.sha256),
                    ~exists().where(
                        TrainingRunRow.checkpoint_sha256 == BlobRow.sha256,
                        TrainingRunRow.live.is_not(None),
                    ),
                )
            )
            return [_model_version(row) for row in rows]

    async def kept_checkpoint_hashes(self) -> set[str]:
        """The SHA-256 of every checkpoint still needed: unpruned versions', live runs'."""
        async with self._sessions() as session:
            versions = await session.scalars(
                select(ModelVersionRow.checkpoint_sha256).where(ModelVersionRow.pruned_at.is_(None))
            )
            live = await session.scalars(
                select(TrainingRunRow.checkpoint_sha256).where(TrainingRunRow.live.is_not(None))
            )
            return {sha for sha in [*versions, *live] if sha}
