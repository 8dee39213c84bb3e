"""Which stored model version the engine serves: following the database, /use, discard,
/pin and /unpin.

One lock serialises every swap, so a /use and the end of a run never interleave.
"""

from __future__ import annotations

import asyncio

from bot.settings.config import Settings
from bot.storage import (
    ModelVersion,
    ModelVersionPrunedError,
    Storage,
)
from bot.texts.worded import CheckpointRefused, Worded
from bot.training import cleanup
from bot.training.blobs import checkpoint_file
from bot.training.retry import retry
from model.checkpoint import Checkpoint, load_checkpoint
from model.engine import GenerationEngine


class ActiveVersionError(Worded, ValueError):
    """The active version cannot be discarded (said in the admin's language)."""


class VersionSwap:
    """The swapping half of :class:`bot.retrain.manager.RetrainManager`."""

    settings: Settings
    storage: Storage
    engine: GenerationEngine
    active_checkpoint: Checkpoint
    active_version: int
    _lock: asyncio.Lock

    @property
    def serving(self) -> int | None:
        version = self.engine.version
        return version if isinstance(version, int) else None

    async def follow_database(self) -> None:
        """Make the engine serve the version the database says is active (idempotent)."""
        async with self._lock:
            active = await retry(self.storage.active_model_version, "reading the active version")
            if active is None or active.id == self.engine.version:
                return
            checkpoint = await self._load(active)
            await self.engine.swap(checkpoint, active.id)
            self.active_checkpoint, self.active_version = checkpoint, active.id

    async def _load(self, version: ModelVersion) -> Checkpoint:
        path = await checkpoint_file(
            self.storage,
            self.settings.checkpoint_dir,
            version.checkpoint_path,
            version.checkpoint_sha256,
        )
        if not path.exists():  # said here, so the admin reads it in their language
            raise CheckpointRefused("checkpoint_missing")
        checkpoint = await asyncio.to_thread(load_checkpoint, path, self.settings.device)
        if version.checkpoint_sha256 and checkpoint.sha256 != version.checkpoint_sha256:
            raise CheckpointRefused("checkpoint_changed")
        return checkpoint

    async def activate(self, version_id: int) -> ModelVersion:
        """Swap a stored version in (rollback or "activate anyway"); raises on a bad id/file."""
        async with self._lock:
            version = await self.storage.get_model_version(version_id)
            if version is None:
                raise LookupError(f"there is no model version {version_id}.")
            if version.pruned_at is not None:  # before _load: its file is gone
                raise ModelVersionPrunedError(version_id)
            checkpoint = await self._load(version)
            activated = await self.storage.activate_model_version(version.id)
            await self.engine.swap(checkpoint, version.id)
            self.active_checkpoint, self.active_version = checkpoint, version.id
            return activated

    async def discard(self, version_id: int) -> None:
        """Forget a stored version that is not active; its file goes once nothing needs it."""
        async with self._lock:
            if version_id == self.active_version:
                raise ActiveVersionError("discard_active")
            version = await self.storage.discard_model_version(version_id)
            await cleanup.discard_checkpoint_if_unreferenced(self.storage, version.checkpoint_path)

    async def pin(self, version_id: int, pinned: bool) -> ModelVersion:
        """Pin or unpin a version, then apply the retention (an unpinned old version goes
        now); raises ModelVersionNotFoundError, or ModelVersionPrunedError to pin a pruned one."""
        version = await self.storage.set_model_version_pinned(version_id, pinned)
        await cleanup.prune_versions(
            self.storage, self.settings.checkpoint_dir, self.settings.model_versions_keep
        )
        return version
