"""/export of a large table: the streamed builder (bot.rules.export) against building the whole
CSV in memory on the event loop (what /export did before), in one run, same database.

    python -m benchmarks.export [--rows 120001] [--trace-memory] [--json]

Reports, for each way: build time, the largest delay of a 10 ms ``asyncio.sleep`` ticker
running meanwhile (event-loop lag), and with ``--trace-memory`` the peak of Python
allocations (tracemalloc, which slows both ways several times over).
The rows are synthetic generations of ~330 characters (like a 300-character /write).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.rules.export import COLUMNS, _row, write_export
from bot.storage import Storage
from bot.storage.schema import GenerationRow

OUTPUT = "في الصباح يذهب الولد إلى المدرسة ويحمل كتبه في حقيبة زرقاء. " * 5


async def fill(storage: Storage, rows: int) -> None:
    await storage.upsert_user(1, "Bench", None, None, "ar")
    now = datetime.now(UTC)
    for start in range(0, rows, 10_000):
        values = [
            {
                "user_id": 1, "chat_id": 1, "seed": f"البحر {i}", "temperature": 0.8,
                "length": 300, "output": OUTPUT, "dropped_chars": None,
                "model_version_id": None, "latency_ms": 12.5, "created_at": now,
            }
            for i in range(start, min(rows, start + 10_000))
        ]  # fmt: skip
        async with storage.session_maker() as session, session.begin():
            await session.execute(insert(GenerationRow), values)


async def in_memory(storage: Storage, directory: Path) -> int:
    """The old /export: every row through csv.writer into a StringIO, on the loop."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    async for g in storage.iter_generations():
        writer.writerow(_row(g))
    return len(buffer.getvalue().encode("utf-8-sig"))


async def streamed(storage: Storage, directory: Path) -> int:
    built = await write_export(
        storage, directory, user_id=None, model_version_id=None, max_bytes=50_000_000
    )
    return built.size


async def measure(
    name: str,
    build: Callable[[Storage, Path], Awaitable[int]],
    storage: Storage,
    tmp: Path,
    trace_memory: bool,
) -> dict[str, Any]:
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)

    tick = asyncio.create_task(ticker())
    if trace_memory:
        tracemalloc.start()
    started = time.perf_counter()
    size = await build(storage, tmp)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stop.set()
    await tick
    return {
        "way": name,
        "build_s": round(seconds, 2),
        "max_loop_lag_ms": round(max(lags) * 1000, 1) if lags else 0.0,
        "peak_python_mb": round(peak / 1e6, 1),
        "bytes": size,
    }


async def main(rows: int, trace_memory: bool) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        storage = await Storage.open(url, migrate=True)
        try:
            await fill(storage, rows)
            return [
                await measure(
                    "in memory, on the loop (before)", in_memory, storage, Path(tmp), trace_memory
                ),
                await measure(
                    "streamed to a file in a thread", streamed, storage, Path(tmp), trace_memory
                ),
            ]
        finally:
            await storage.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=120_001)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--trace-memory", action="store_true", help="peak Python allocations (slows both ways)"
    )
    args = parser.parse_args()
    results = asyncio.run(main(args.rows, args.trace_memory))
    if args.json:
        print(json.dumps(results))
    else:
        for r in results:
            print(
                f"{r['way']:<34} {r['build_s']:>6.2f} s  loop lag {r['max_loop_lag_ms']:>6.1f} ms"
                f"  peak {r['peak_python_mb']:>6.1f} MB  {r['bytes']:,} bytes"
            )
