"""Checking new training text and keeping it: file on disk (by SHA-256) plus a database row."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.storage import Corpus, CorpusSource, Storage
from model.errors import CorpusError
from model.files import write_atomically
from model.text import decode_corpus, read_corpus, sha256_text
from model.train import check_corpus_length

# Telegram lets bots download files up to 20 MB; the default stays well under it.
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024


def validate_text(data: bytes, max_bytes: int, seq_len: int, val_fraction: float) -> str:
    """Decode and normalise an upload; CorpusError with a sentence for the admin otherwise."""
    if len(data) > max_bytes:
        raise CorpusError(
            f"the text is {len(data):,} bytes; the limit is {max_bytes:,} bytes. "
            "Send a shorter text."
        )
    if not data.strip():
        raise CorpusError("the text is empty.")
    text = decode_corpus(data, name="the text")
    check_corpus_length(text, seq_len, val_fraction)
    return text


async def store_corpus(
    storage: Storage,
    corpus_dir: Path,
    text: str,
    source: CorpusSource,
    uploaded_by: int | None,
) -> Corpus:
    """Keep ``text`` as ``<corpus_dir>/<sha256>.txt``; an identical text is stored once."""
    digest = sha256_text(text)
    existing = await storage.find_corpus_by_sha(digest)
    if existing is not None and Path(existing.path).exists():
        return existing
    path = corpus_dir / f"{digest}.txt"
    await asyncio.to_thread(write_atomically, path, text.encode("utf-8"))
    return await storage.add_corpus(
        path=str(path),
        sha256=digest,
        chars=len(text),
        size_bytes=len(text.encode("utf-8")),
        source=source,
        uploaded_by=uploaded_by,
    )


async def read_stored(corpus: Corpus) -> str:
    text = await asyncio.to_thread(read_corpus, corpus.path)
    if sha256_text(text) != corpus.sha256:
        raise CorpusError(f"the stored corpus #{corpus.id} was changed on disk since it was saved.")
    return text
