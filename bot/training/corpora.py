"""Checking new training text and keeping it: file on disk (by SHA-256) plus a database row.

Validation refuses what would silently train garbage: text in UTF-16/UTF-32 (which,
without a BOM, can pass as "valid UTF-8" made of letters and control bytes), C0/C1
control characters other than tab and newline, and text that is mostly not letters,
spaces and punctuation. Storing writes the file first (atomically) and records the row
by upsert on its unique SHA-256, so two identical uploads share one corpus.
"""

from __future__ import annotations

import asyncio
import unicodedata
from pathlib import Path

from bot.storage import Corpus, CorpusSource, Storage
from bot.texts.worded import Foreign, Worded
from bot.training.retry import describe
from model.errors import CorpusError
from model.files import write_atomically
from model.split import min_corpus_chars
from model.text import decode_corpus, read_corpus, sha256_text

# Telegram lets bots download files up to 20 MB; the default stays well under it.
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024
# At least this share of the characters must be letters, marks, spaces or punctuation.
MIN_TEXT_SHARE = 0.5
_SAMPLE_BYTES = 1 << 16
_ALLOWED_CONTROLS = frozenset("\t\n")


class CorpusStoreError(Worded):
    """The text was fine but could not be kept: what failed, in the admin's language."""


class TextRefused(Worded, CorpusError):
    """A refusal this module words: said in the admin's language (bot.texts.worded)."""


def validate_text(data: bytes, max_bytes: int, seq_len: int, val_fraction: float) -> str:
    """Decode and normalise an upload; CorpusError with a sentence for the admin otherwise."""
    if len(data) > max_bytes:
        raise TextRefused("text_too_big", size=len(data), limit=max_bytes)
    if not data.strip():
        raise TextRefused("text_empty")
    encoding = wide_encoding(data)
    if encoding is not None:
        raise TextRefused("text_wide_encoding", encoding=encoding)
    try:  # checked here, so the refusal carries its values (model/ words it in English)
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TextRefused("text_not_utf8", position=exc.start) from None
    text = decode_corpus(data, name="the text")
    check_characters(text)
    need = min_corpus_chars(seq_len, val_fraction)  # the trainer's own minimum
    if len(text) < need:
        raise TextRefused("text_too_short", length=len(text), need=need, window=seq_len)
    return text


def wide_encoding(data: bytes) -> str | None:
    """ "UTF-16" or "UTF-32" when the bytes look like it (with or without a BOM), else None."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    sample = data[:_SAMPLE_BYTES]
    if len(sample) < 8:
        return None
    quads = len(sample) // 4
    zero_at = [sum(sample[i] == 0 for i in range(k, quads * 4, 4)) / quads for k in range(4)]
    if (zero_at[2] > 0.9 and zero_at[3] > 0.9) or (zero_at[0] > 0.9 and zero_at[1] > 0.9):
        return "UTF-32"
    # UTF-16 keeps a script's high byte at every other position: 0x00 for Latin, 0x06 for
    # Arabic... all control bytes, which UTF-8 text has almost never, and on one parity.
    pairs = len(sample) // 2
    control = [
        sum(_is_control_byte(sample[i]) for i in range(k, pairs * 2, 2)) / pairs for k in range(2)
    ]
    if max(control) >= 0.2 and min(control) < 0.05:
        return "UTF-16"
    return None


def _is_control_byte(b: int) -> bool:
    return b < 0x20 and b not in (0x09, 0x0A, 0x0D)


def check_characters(text: str) -> None:
    """Refuse control characters (but tab and newline) and text that is mostly not text."""
    for position, ch in enumerate(text):
        if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS:
            raise TextRefused("text_control", code=f"U+{ord(ch):04X}", position=position + 1)
    texty = sum(unicodedata.category(ch)[0] in "LMPZ" or ch.isspace() for ch in text)
    share = texty / max(1, len(text))
    if share < MIN_TEXT_SHARE:
        raise TextRefused("text_not_prose", share=f"{share:.0%}")


async def store_corpus(
    storage: Storage,
    corpus_dir: Path,
    text: str,
    source: CorpusSource,
    uploaded_by: int | None,
) -> Corpus:
    """Keep ``text`` as ``<corpus_dir>/<sha256>.txt``; an identical text is stored once.

    Raises CorpusStoreError naming what failed when the file cannot be written.
    """
    digest = sha256_text(text)
    data = text.encode("utf-8")
    try:  # every process can fetch it by its SHA-256, whatever its disk holds
        await storage.put_blob(data)
    except Exception as exc:
        raise CorpusStoreError("store_database", reason=Foreign(exc, describe(exc))) from None
    existing = await storage.find_corpus_by_sha(digest)
    if existing is not None and Path(existing.path).exists():
        return existing
    path = corpus_dir / f"{digest}.txt"
    try:
        await asyncio.to_thread(write_atomically, path, data)
    except OSError as exc:
        reason = Foreign(exc, describe(exc))
        raise CorpusStoreError("store_folder", folder=str(corpus_dir), reason=reason) from None
    return await storage.add_corpus(
        path=str(path),
        sha256=digest,
        chars=len(text),
        size_bytes=len(data),
        source=source,
        uploaded_by=uploaded_by,
    )


async def read_stored(corpus: Corpus) -> str:
    text = await asyncio.to_thread(read_corpus, corpus.path)
    if sha256_text(text) != corpus.sha256:
        raise CorpusError(f"the stored corpus #{corpus.id} was changed on disk since it was saved.")
    return text
