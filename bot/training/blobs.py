"""Model files by SHA-256: each process's local cache in front of the database's blobs.

Checkpoints and corpora are stored in the database (``blobs``, keyed by SHA-256) when
they are made, so no process needs another's disk. A process that needs a
file looks, in order, at the path the row names (the file may be right here: single
process) and at its own cache (``CHECKPOINT_DIR/cache/<sha>.pt``, ``CORPUS_DIR/<sha>.txt``),
and uses the first whose bytes hash to the expected SHA-256. Otherwise it fetches the
blob, verifies it, writes it atomically to the cache, and uses that: a missing or
damaged local file is repaired, never trusted. When the database has no blob either
(rows from before revision 0006), the row's own path is returned, so the caller's
existing checks report what is wrong with it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

from bot.storage import Corpus, Storage
from bot.training.retry import retry
from model.errors import CorpusError
from model.files import write_atomically
from model.text import read_corpus, sha256_text

log = logging.getLogger(__name__)


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def checkpoint_cache(checkpoint_dir: Path, sha256: str) -> Path:
    return checkpoint_dir / "cache" / f"{sha256}.pt"


def corpus_cache(corpus_dir: Path, sha256: str) -> Path:
    return corpus_dir / f"{sha256}.txt"


async def store_file(storage: Storage, path: Path) -> str:
    """Keep the bytes of ``path`` in the database; their SHA-256."""
    data = await asyncio.to_thread(path.read_bytes)
    return await retry(lambda: storage.put_blob(data), f"storing {path.name} in the database")


async def local_file(storage: Storage, sha256: str, named: Path | None, cache: Path) -> Path | None:
    """A local file whose bytes hash to ``sha256``, fetched if needed; None if unavailable."""
    for candidate in (named, cache):
        if candidate is not None and await asyncio.to_thread(file_sha256, candidate) == sha256:
            return candidate
    data = await retry(lambda: storage.get_blob(sha256), "fetching a model file")
    if data is None:
        return None
    if hashlib.sha256(data).hexdigest() != sha256:  # damaged in the database itself
        log.error("the database's copy of %s is damaged (its SHA-256 differs)", sha256)
        return None
    await asyncio.to_thread(write_atomically, cache, data)
    log.info("fetched %s from the database into %s", sha256[:12], cache)
    return cache


async def checkpoint_file(
    storage: Storage, checkpoint_dir: Path, path: str | None, sha256: str | None
) -> Path:
    """The checkpoint to load: verified local copy, else the row's path (old rows)."""
    named = Path(path) if path else None
    if sha256:
        found = await local_file(storage, sha256, named, checkpoint_cache(checkpoint_dir, sha256))
        if found is not None:
            return found
    return named if named is not None else checkpoint_cache(checkpoint_dir, sha256 or "none")


async def corpus_text(storage: Storage, corpus_dir: Path, corpus: Corpus) -> str:
    """The corpus's text, from a verified local copy or fetched (CorpusError otherwise)."""
    cache = corpus_cache(corpus_dir, corpus.sha256)
    found = await local_file(storage, corpus.sha256, Path(corpus.path), cache)
    text = await asyncio.to_thread(read_corpus, found or corpus.path)
    if sha256_text(text) != corpus.sha256:
        raise CorpusError(f"the stored corpus #{corpus.id} was changed on disk since it was saved.")
    return text


async def corpus_file(storage: Storage, corpus_dir: Path, corpus: Corpus) -> Path:
    """A local file with the corpus's bytes (for the training child), fetched if needed."""
    cache = corpus_cache(corpus_dir, corpus.sha256)
    found = await local_file(storage, corpus.sha256, Path(corpus.path), cache)
    return found or Path(corpus.path)
