"""What the Prometheus metrics cost per generation, side by side in one run.

    python -m benchmarks.metrics_cost [--requests 256] [--length 300] [--rounds 9] [--json]

Rows:

1. ``per_text``: the bookkeeping one delivered /write does (bot/metrics: the outcome
   counter, the latency histogram, the Bot API call counters of its sendChatAction and
   sendMessage) timed alone, in microseconds, next to the time of one text of
   ``--length`` characters from the engine when ``--requests`` arrive together: the
   ratio is the share metrics add to a generation (target < 2%);
2. ``burst``: the same burst of ``--requests`` texts with and without that bookkeeping,
   alternating, ``--rounds`` pairs: the median of with / without per pair (target < 1.02;
   on a busy machine the noise between two bursts is of that order, which is the point);
3. ``scrape``: rendering ``/metrics`` (every series, the engine's collector and the
   process metrics included), in milliseconds: what each Prometheus scrape costs.

The engine serves a reference-sized model (embed 32, hidden 128) initialised at random
on the CPU with the default corpus's vocabulary: cost does not depend on training.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from prometheus_client import REGISTRY, generate_latest

from bot import metrics
from bot.metrics import engine as engine_metrics
from model.checkpoint import Checkpoint
from model.engine import GenerationEngine
from model.network import CharGenerator
from model.text import read_corpus
from model.vocab import Vocabulary

SEED = "في الصباح"
CORPUS = Path(__file__).resolve().parents[1] / "data" / "arabic_text.txt"


def per_text_bookkeeping(received: float) -> None:
    """Exactly what the bot counts for one delivered /write."""
    metrics.BOT_API_CALLS.labels("sendChatAction", metrics.result_label(200)).inc()
    metrics.BOT_API_CALLS.labels("sendMessage", metrics.result_label(200)).inc()
    metrics.generation(metrics.WRITE, metrics.DELIVERED)
    metrics.LATENCY.labels(metrics.WRITE).observe(time.perf_counter() - received)


def bookkeeping_us(repeats: int = 20_000) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        per_text_bookkeeping(start)
    return (time.perf_counter() - start) / repeats * 1e6


async def burst(engine: GenerationEngine, requests: int, length: int, counted: bool) -> float:
    async def one(key: int) -> None:
        received = time.perf_counter()
        await engine.generate(SEED, 0.8, length, key=key)
        if counted:
            per_text_bookkeeping(received)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(requests)))
    return time.perf_counter() - start


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    torch.manual_seed(0)
    vocab = Vocabulary.from_text(read_corpus(CORPUS))
    checkpoint = Checkpoint(CharGenerator(len(vocab)).eval(), vocab)
    async with GenerationEngine(checkpoint, 1, max_batch=max(256, args.requests)) as engine:
        engine_metrics.watch(engine)
        await burst(engine, args.requests, args.length, counted=False)  # warm-up
        with_s, without_s = [], []
        for _ in range(args.rounds):  # alternating, so drift hits both alike
            without_s.append(await burst(engine, args.requests, args.length, counted=False))
            with_s.append(await burst(engine, args.requests, args.length, counted=True))
        start = time.perf_counter()
        scrapes = 20
        for _ in range(scrapes):
            page = generate_latest(REGISTRY)
        scrape_ms = (time.perf_counter() - start) / scrapes * 1000
        engine_metrics.forget(engine)
    per_text_s = min(without_s) / args.requests  # engine time per text in a burst
    paired = statistics.median(a / b for a, b in zip(with_s, without_s, strict=True))
    cost_us = bookkeeping_us()
    return {
        "info": {
            "requests": args.requests, "length": args.length, "rounds": args.rounds,
            "torch_threads": torch.get_num_threads(), "metrics_page_bytes": len(page),
        },
        "rows": [
            {"name": "per_text", "value": cost_us / (per_text_s * 1e6),
             "unit": "metrics / engine time per text", "target": "< 0.02",
             "details": {"metrics_us": round(cost_us, 2),
                         "engine_ms_per_text": round(per_text_s * 1000, 3)}},
            {"name": "burst", "value": paired,
             "unit": "burst with / without metrics", "target": "< 1.02",
             "details": {"with_s": round(min(with_s), 4), "without_s": round(min(without_s), 4)}},
            {"name": "scrape", "value": scrape_ms, "unit": "ms per /metrics render",
             "target": "< 10", "details": {}},
        ],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(" ".join(f"{k}={v}" for k, v in result["info"].items()))
    for row in result["rows"]:
        details = " ".join(f"{k}={v}" for k, v in row["details"].items())
        print(f"{row['name']:<10}{row['value']:>10.4f}  {row['unit']:<34}{row['target']:>8}  "
              f"{details}")  # fmt: skip


if __name__ == "__main__":
    main()
