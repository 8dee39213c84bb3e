"""Deleting files only once the database says nothing refers to them.

Checkpoints: a file is kept while an unpruned model version or a live run names it;
anything else under ``CHECKPOINT_DIR`` called ``run-<id>.pt`` (or a contest's
``run-<id>-finetune.pt`` / ``run-<id>-fresh.pt``) is debris of a run that
ended (failed, cancelled, or killed together with the bot) or of a pruned version, and
so is a cached copy (``cache/<sha256>.pt``) that no unpruned version or live run needs.
Corpora: a row no run and no version refers to is deleted first (one guarded statement),
its file afterwards.
Temporary files of atomic writes are swept at start-up. Blobs (the
database's copies of checkpoints and corpora) go once no version, corpus or live run
names their SHA-256 and they are older than the grace period. Every deletion is best
effort: a read-only or vanished directory is logged, never raised, so cleaning up can
never turn a run's outcome into an error.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta
from pathlib import Path

from bot.storage import Storage
from bot.storage.schema import utcnow
from bot.training.retry import describe
from model.files import is_temporary_file, sweep_temporary_files

log = logging.getLogger(__name__)

# A run's checkpoint, and the candidates of a /retrain contest (the loser is deleted
# when the contest ends; a bot killed mid-contest leaves both).
RUN_CHECKPOINT = re.compile(r"^run-\d+(?:-(?:finetune|fresh))?\.pt$")
# Uploads stored but never used (refused because a training was running, or a crash
# between storing and starting) are collected once they are this old.
UNUSED_CORPUS_GRACE = timedelta(minutes=10)


def _unlink(path: Path) -> bool:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not delete %s: %s", path, describe(exc))
        return False
    return True


def _same(a: str | Path, b: str | Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def discard_temporaries_of(checkpoint: str | Path) -> list[Path]:
    """The temporary files an atomic write of ``checkpoint`` left behind (its writer was
    killed mid-write): deleted when its run ends, not at the next training."""
    path = Path(checkpoint)
    try:
        found = [p for p in path.parent.glob(f".{path.name}.*") if is_temporary_file(p)]
    except OSError:
        return []
    removed = [p for p in found if _unlink(p)]
    if removed:
        log.info("removed %d temporary file(s) of %s", len(removed), path.name)
    return removed


async def discard_checkpoint_if_unreferenced(storage: Storage, path: str | Path) -> bool:
    """Delete ``path`` unless a version or a live run refers to it; True if deleted.

    A database error here keeps the file: when in doubt, keep.
    """
    try:
        referenced = await storage.referenced_checkpoint_paths()
    except Exception as exc:
        log.warning("kept %s: could not ask the database (%s)", path, describe(exc))
        return False
    if any(_same(path, ref) for ref in referenced):
        return False
    return _unlink(Path(path))


async def collect_checkpoints(storage: Storage, checkpoint_dir: Path) -> list[Path]:
    """Delete ``run-<id>.pt`` files no version or live run refers to."""
    try:
        candidates = [p for p in checkpoint_dir.iterdir() if RUN_CHECKPOINT.match(p.name)]
        referenced = [Path(p).resolve() for p in await storage.referenced_checkpoint_paths()]
    except Exception as exc:
        log.warning("checkpoint clean-up skipped: %s", describe(exc))
        return []
    # A contest's candidates belong to the run whose checkpoint they will become.
    kept = set(referenced) | {
        path.with_name(f"{path.stem}-{name}{path.suffix}")
        for path in referenced
        for name in ("finetune", "fresh")
    }
    removed = [p for p in candidates if p.resolve() not in kept and _unlink(p)]
    if removed:
        log.info("deleted %d checkpoint(s) no version refers to", len(removed))
    return removed


async def collect_cache(storage: Storage, checkpoint_dir: Path) -> list[Path]:
    """Delete cached checkpoints (``cache/<sha256>.pt``) no unpruned version or live run
    needs: pruned versions' copies fetched from the database."""
    cache = checkpoint_dir / "cache"
    try:
        files = list(cache.glob("*.pt")) if cache.is_dir() else []
        kept = await storage.kept_checkpoint_hashes() if files else set()
    except Exception as exc:
        log.warning("checkpoint cache clean-up skipped: %s", describe(exc))
        return []
    removed = [p for p in files if p.stem not in kept and _unlink(p)]
    if removed:
        log.info("deleted %d cached checkpoint(s) no version needs", len(removed))
    return removed


async def collect_corpus(storage: Storage, corpus_id: int, corpus_dir: Path) -> bool:
    """Delete one corpus (row, then file) if nothing refers to it; True if deleted."""
    try:
        deleted = await storage.delete_corpus_if_unused(corpus_id)
    except Exception as exc:
        log.warning("corpus %d kept: %s", corpus_id, describe(exc))
        return False
    if deleted is None:
        return False
    path = Path(deleted.path)
    # Only files this bot stored: the default corpus lives in the source tree.
    if path.resolve().parent == corpus_dir.resolve():
        _unlink(path)
    return True


async def collect_corpora(
    storage: Storage, corpus_dir: Path, created_before: datetime | None = None
) -> int:
    """Delete every corpus no run or version refers to, older than the grace period."""
    cutoff = created_before or utcnow() - UNUSED_CORPUS_GRACE
    try:
        unused = await storage.unused_corpora(cutoff)
    except Exception as exc:
        log.warning("corpus clean-up skipped: %s", describe(exc))
        return 0
    count = 0
    for corpus in unused:
        count += await collect_corpus(storage, corpus.id, corpus_dir)
    if count:
        log.info("deleted %d corpus/corpora no run or version refers to", count)
    return count


async def collect_blobs(storage: Storage) -> int:
    """Delete the database's file copies nothing refers to any more."""
    try:
        count = await storage.delete_unreferenced_blobs(utcnow() - UNUSED_CORPUS_GRACE)
    except Exception as exc:
        log.warning("blob clean-up skipped: %s", describe(exc))
        return 0
    if count:
        log.info("deleted %d stored file(s) nothing refers to", count)
    return count


async def backfill_blobs(storage: Storage) -> int:
    """Store in the database the files of versions and corpora from before it kept them.

    A version whose file is here and intact gets its blob, so trainers and replicas on
    other hosts can load it after an upgrade. Best effort, like the rest.
    """
    count = 0
    try:
        files = [
            (v.checkpoint_sha256, v.checkpoint_path) for v in await storage.list_model_versions()
        ]
        files += [(c.sha256, c.path) for c in await storage.corpora_referenced()]
        for sha, name in files:
            if not sha or await storage.has_blob(sha):
                continue
            path = Path(name)
            data = path.read_bytes() if path.is_file() else b""
            if hashlib.sha256(data).hexdigest() == sha:
                await storage.put_blob(data)
                count += 1
    except Exception as exc:
        log.warning("storing older checkpoints in the database skipped: %s", describe(exc))
    if count:
        log.info("stored %d older checkpoint(s) in the database", count)
    return count


def sweep_temporary(*directories: Path) -> int:
    count = 0
    for directory in directories:
        count += len(sweep_temporary_files(directory))
    if count:
        log.info("removed %d stale temporary file(s)", count)
    return count


async def prune_versions(storage: Storage, checkpoint_dir: Path, keep_newest: int) -> list[int]:
    """Retention of model versions: the active one, the newest ``keep_newest`` and the
    pinned ones (/pin) are kept; the others are pruned; the ids pruned now.

    Pruning is one transaction (:meth:`Storage.prune_model_versions`): the rows are marked,
    never deleted, so generations and runs keep their ``model_version_id`` and /models
    still lists them; the database's copy of each pruned checkpoint (its blob) goes with
    the mark unless something unpruned has the same bytes. Only after that commit do this
    host's files go: the pruned versions' ``run-<id>.pt`` and cached copies. Other hosts
    empty their caches when they next prune or see a run end. Files the bot did not write
    (the shipped default model) stay: only their row is marked. Runs at start-up, at the
    end of every run and after /pin and /unpin; a failure changes nothing.
    """
    try:
        pruned = [v.id for v in await storage.prune_model_versions(keep_newest)]
    except Exception as exc:
        log.warning("pruning model versions skipped: %s", describe(exc))
        return []
    if pruned:
        log.info("pruned model version(s) %s: not active, not pinned, not among the newest %d",
                 pruned, keep_newest)  # fmt: skip
    await collect_checkpoints(storage, checkpoint_dir)
    await collect_cache(storage, checkpoint_dir)
    return pruned
