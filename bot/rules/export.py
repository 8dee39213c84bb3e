"""/export's CSV: built in a temporary file, chunk by chunk, off the event loop.

Design:

* Memory stays flat for any number of rows: the storage yields generations in chunks
  (keyset pagination, one short transaction each), and each chunk is formatted and
  written by a worker thread, so the event loop only awaits; it never holds the CSV.
* Telegram takes uploads up to 50 MB (``EXPORT_MAX_BYTES``); a bigger CSV is gzipped
  (also in a thread), which shrinks this text several times over. If even that is too
  big, :class:`ExportTooLarge` says by how much, so the admin can filter.
* Spreadsheet formula injection (OWASP "CSV Injection"): a text cell that starts with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or the full-width ``＝ ＋ － ＠``,
  which some spreadsheets fold to ASCII) gets a leading ``'``, which spreadsheets show
  as text and never evaluate. Applied to every text column; numbers are written as
  numbers and need none.
* UTF-8 with a BOM, so spreadsheet programs read Arabic correctly.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.storage import Generation, Storage
from bot.texts.worded import Worded

COLUMNS: tuple[str, ...] = (
    "id", "created_at", "user_id", "chat_id", "model_version_id", "temperature", "length",
    "latency_ms", "seed", "output", "dropped_chars", "delivered",
)  # fmt: skip
COLUMNS += ("source", "parent_id")  # what asked for it, the text a button was under
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
CHUNK_ROWS = 1000


class ExportTooLarge(Worded):
    """Said in the admin's language (bot.texts.worded)."""

    def __init__(self, rows: int, size: int, limit: int) -> None:
        super().__init__("export_rows_too_large", rows=rows, size=size, limit=limit)
        self.rows, self.size, self.limit = rows, size, limit


@dataclass(frozen=True)
class ExportFile:
    path: Path
    filename: str
    rows: int
    size: int
    compressed: bool


def neutralise(cell: str) -> str:
    """A text cell a spreadsheet will show, never evaluate."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _row(g: Generation) -> list[Any]:
    return [
        g.id,
        g.created_at.isoformat(),
        g.user_id,
        g.chat_id,
        g.model_version_id,
        g.temperature,
        g.length,
        round(g.latency_ms, 1),
        neutralise(g.seed),
        neutralise(g.output),
        neutralise(g.dropped_chars or ""),
        int(g.delivered),
        g.source,
        g.parent_id,
    ]


def _write_rows(stream: TextIO, rows: Iterable[Generation]) -> None:
    csv.writer(stream).writerows(_row(g) for g in rows)


def _gzip(source: Path, target: Path) -> None:
    with source.open("rb") as raw, gzip.open(target, "wb", compresslevel=6) as packed:
        shutil.copyfileobj(raw, packed, 1024 * 1024)


async def write_export(
    storage: Storage,
    directory: Path,
    *,
    user_id: int | None,
    model_version_id: int | None,
    max_bytes: int,
    chunk_rows: int = CHUNK_ROWS,
) -> ExportFile:
    """Write the matching generations to a CSV (or .csv.gz) in ``directory``."""
    name = f"generations-{datetime.now(UTC):%Y%m%d-%H%M%S}.csv"
    path = directory / name
    stream = await asyncio.to_thread(path.open, "w", encoding="utf-8-sig", newline="")
    rows = 0
    try:
        await asyncio.to_thread(csv.writer(stream).writerow, COLUMNS)
        async for chunk in storage.iter_generation_chunks(
            user_id, model_version_id, chunk_size=chunk_rows
        ):
            await asyncio.to_thread(_write_rows, stream, chunk)
            rows += len(chunk)
    finally:
        await asyncio.to_thread(stream.close)
    size = path.stat().st_size
    if size <= max_bytes:
        return ExportFile(path, name, rows, size, compressed=False)
    packed = path.with_name(name + ".gz")
    await asyncio.to_thread(_gzip, path, packed)
    await asyncio.to_thread(path.unlink)
    size = packed.stat().st_size
    if size > max_bytes:
        raise ExportTooLarge(rows, size, max_bytes)
    return ExportFile(packed, packed.name, rows, size, compressed=True)
