"""The generation engine against the reference loop, on the same weights, in one run.

    python -m benchmarks.engine [--device auto|cpu|cuda] [--checkpoint PATH] [--json]

Rows (each a ratio measured in this run):

1. one request of ``--length`` characters: engine latency / reference loop time
   (target <= 1/3);
2. ``--concurrency`` requests at once: 64 sequential reference loops / engine wall time
   (throughput, target >= 30x), with the engine's p50/p99 latency per request;
3. event-loop lag: the largest delay of a 10 ms ``asyncio.sleep`` ticker while those
   requests run (target < 50 ms).

Row 4 (end to end through the bot) plugs in as one more function in ``ROWS``: it gets
the :class:`Bench` context and returns a :class:`Row`.

Without a checkpoint, a reference-sized model (embed 32, hidden 128) with the default
corpus's vocabulary is initialised at random: generation cost does not depend on training.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from benchmarks.reference import best_of, reference_generate
from model.checkpoint import Checkpoint, load_checkpoint
from model.device import pick_device
from model.engine import GenerationEngine
from model.network import CharGenerator
from model.sample import sample
from model.text import read_corpus
from model.vocab import Vocabulary

SEED = "في الصباح"
TEMPERATURE = 0.8


@dataclass
class Row:
    name: str
    value: float  # the ratio the row is about
    unit: str  # how to read value, e.g. "engine/reference"
    target: str
    met: bool
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Bench:
    checkpoint: Checkpoint
    device: torch.device
    length: int
    concurrency: int
    repeats: int
    use_cuda_graphs: bool
    engine_threads: int | None = None
    engine: GenerationEngine | None = None
    reference_single_s: float | None = None  # median, shared by rows 1 and 2

    @property
    def model(self) -> CharGenerator:
        return self.checkpoint.model

    @property
    def vocab(self) -> Vocabulary:
        return self.checkpoint.vocab

    def reference(self) -> str:
        return reference_generate(self.model, self.vocab, SEED, self.length, TEMPERATURE)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def row_single(b: Bench) -> Row:
    assert b.engine is not None
    engine = b.engine
    ref_median, _ = best_of(b.reference, b.repeats)
    b.reference_single_s = ref_median

    async def one() -> float:
        started = time.perf_counter()
        await engine.generate(SEED, TEMPERATURE, b.length, rng_seed=1)
        return time.perf_counter() - started

    for _ in range(2):
        await one()
    times = [await one() for _ in range(b.repeats)]
    eng_median = statistics.median(times)
    ratio = eng_median / ref_median
    return Row(
        "1. one request",
        ratio,
        "engine / reference time",
        "<= 0.333",
        ratio <= 1 / 3,
        {
            "length": b.length,
            "reference_ms": ref_median * 1e3,
            "engine_ms": eng_median * 1e3,
            "engine_min_ms": min(times) * 1e3,
            "speedup": 1 / ratio,
        },
    )


async def _concurrent(b: Bench) -> tuple[float, list[float], float]:
    """Run ``concurrency`` requests at once; (wall seconds, latencies, max ticker lag)."""
    assert b.engine is not None
    engine = b.engine
    lags: list[float] = []
    running = True

    async def ticker() -> None:
        while running:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    results = await asyncio.gather(
        *(
            engine.generate(SEED, 0.5 + (i % 8) * 0.1, b.length, rng_seed=i)
            for i in range(b.concurrency)
        )
    )
    wall = time.perf_counter() - started
    running = False
    await tick
    assert all(len(r.continuation) == b.length for r in results)
    return wall, [r.latency_s for r in results], max(lags) if lags else 0.0


async def row_throughput(b: Bench) -> Row:
    await _concurrent(b)  # warm-up: first batch sizes, allocations
    wall, latencies, _ = await _concurrent(b)
    started = time.perf_counter()
    for _ in range(b.concurrency):
        b.reference()
    sequential = time.perf_counter() - started
    ratio = sequential / wall
    return Row(
        f"2. {b.concurrency} concurrent",
        ratio,
        "sequential reference / engine wall",
        ">= 30",
        ratio >= 30,
        {
            "engine_wall_ms": wall * 1e3,
            "reference_sequential_ms": sequential * 1e3,
            "p50_latency_ms": _percentile(latencies, 50) * 1e3,
            "p99_latency_ms": _percentile(latencies, 99) * 1e3,
            "chars_per_s": b.concurrency * b.length / wall,
        },
    )


async def row_loop_lag(b: Bench) -> Row:
    wall, _, lag = await _concurrent(b)
    return Row(
        "3. event-loop lag",
        lag * 1e3,
        "ms, largest 10 ms ticker delay",
        "< 50",
        lag < 0.05,
        {"during_ms": wall * 1e3},
    )


async def identity_check(b: Bench, n: int) -> dict[str, Any]:
    """``n`` mixed requests at once against :func:`model.sample.sample` on the same device:
    how many texts are identical for their fixed RNG seeds (all of them, by design)."""
    assert b.engine is not None
    jobs = [
        (SEED[: 2 + i % 8], 0.5 + (i % 6) * 0.25, 50 + (i * 37) % 300, (i % 4) * 5 or None, i)
        for i in range(n)
    ]
    results = await asyncio.gather(
        *(b.engine.generate(s, t, k, top_k=top, rng_seed=r) for s, t, k, top, r in jobs)
    )
    same = sum(
        result.text == sample(b.model, b.vocab, s, k, t, top_k=top, rng_seed=r).text
        for (s, t, k, top, r), result in zip(jobs, results, strict=True)
    )
    return {"identical": same, "of": n}


RowFn = Callable[[Bench], Awaitable[Row]]
ROWS: list[RowFn] = [row_single, row_throughput, row_loop_lag]
# Row 4 (end to end through the bot) is appended here by the bot's benchmark.


def load(args: argparse.Namespace, device: torch.device) -> Checkpoint:
    if args.checkpoint:
        return load_checkpoint(args.checkpoint, device)
    torch.manual_seed(0)
    vocab = Vocabulary.from_text(read_corpus(args.corpus))
    return Checkpoint(CharGenerator(len(vocab)).to(device).eval(), vocab)


async def run(bench: Bench, rows: list[RowFn], identity: int = 0) -> tuple[list[Row], Any]:
    extra: dict[str, Any] = {}
    if bench.engine_threads is not None:
        extra["num_threads"] = bench.engine_threads or None  # 0: torch's own setting
    async with GenerationEngine(
        bench.checkpoint,
        "bench",
        max_batch=max(256, bench.concurrency),
        use_cuda_graphs=bench.use_cuda_graphs,
        **extra,
    ) as engine:
        bench.engine = engine
        results = [await fn(bench) for fn in rows]
        same = await identity_check(bench, identity) if identity else None
        return results, same


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--checkpoint")
    parser.add_argument("--corpus", default="data/arabic_text.txt")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--no-cuda-graphs", action="store_true")
    parser.add_argument(
        "--engine-threads",
        type=int,
        help="intra-op threads of the engine's worker (default: the engine's, 1; "
        "0: torch's setting)",
    )
    parser.add_argument("--rows", default="1,2,3", help="which rows to run, e.g. 1,2")
    parser.add_argument(
        "--identity",
        type=int,
        default=0,
        metavar="N",
        help="also check N concurrent fixed-seed texts against model.sample",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    args = parser.parse_args(argv)

    device = pick_device(args.device)
    bench = Bench(
        load(args, device),
        device,
        args.length,
        args.concurrency,
        args.repeats,
        use_cuda_graphs=not args.no_cuda_graphs,
        engine_threads=args.engine_threads,
    )
    wanted = [ROWS[int(i) - 1] for i in args.rows.split(",") if i.strip()]
    rows, same = asyncio.run(run(bench, wanted, args.identity))
    assert bench.engine is not None
    info: dict[str, Any] = {
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "row_granule": bench.engine._current.weights.granule,
        "cuda_graphs": device.type == "cuda" and bench.use_cuda_graphs,
        "engine_steps": bench.engine.steps,
        "max_batch_seen": bench.engine.max_batch_seen,
    }
    if same is not None:
        info["identical_to_sample"] = f"{same['identical']}/{same['of']}"
    if device.type == "cuda":
        info["cuda_device"] = torch.cuda.get_device_name(device)
        info["max_memory_allocated_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    if args.json:
        print(json.dumps({"info": info, "rows": [asdict(r) for r in rows]}, indent=2))
        return
    print(" ".join(f"{k}={v}" for k, v in info.items()))
    print(f"{'row':<22}{'value':>10}  {'unit':<36}{'target':>9}  {'met':<4} details")
    for r in rows:
        details = ", ".join(
            f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.details.items()
        )
        met = "yes" if r.met else "NO"
        print(f"{r.name:<22}{r.value:>10.3f}  {r.unit:<36}{r.target:>9}  {met:<4} {details}")


if __name__ == "__main__":
    main()
