"""Unicode normalisation applied to corpora and seeds alike, and reading corpora from disk."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from model.errors import CorpusError

# Zero-width characters and bidi controls are invisible and vary between keyboards and
# copy-paste sources; keeping them would split one visible character into many vocab entries.
_INVISIBLE = re.compile(
    "["
    "\u200b-\u200f"  # zero-width space/non-joiner/joiner, LRM, RLM
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner and invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\u061c"  # Arabic letter mark
    "\ufeff"  # BOM / zero-width no-break space
    "]"
)


def normalize_text(text: str) -> str:
    """NFC, unified newlines, invisible controls removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    return unicodedata.normalize("NFC", text)


def decode_corpus(data: bytes, name: str = "the text") -> str:
    """Decode UTF-8 bytes (a leading BOM is allowed) and normalise them."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{name} is not valid UTF-8 (bad byte at position {exc.start}); "
            "save it as UTF-8 and try again."
        ) from None
    return normalize_text(text)


def read_corpus(path: str | Path) -> str:
    """Read and normalise a UTF-8 corpus file, with clear errors for user mistakes."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise CorpusError(f"corpus file not found: {p}") from None
    except IsADirectoryError:
        raise CorpusError(f"corpus path is a directory, not a file: {p}") from None
    except PermissionError:
        raise CorpusError(f"no permission to read the corpus file: {p}") from None
    return decode_corpus(data, name=str(p))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
