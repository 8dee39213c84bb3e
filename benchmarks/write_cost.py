"""What the bigger default model costs a /write, and what the engine costs over a bare loop.

    python -m benchmarks.write_cost [--checkpoint data/default-model.pt] [--repeats 15]
                                    [--rows 64] [--length 300] [--threads 1] [--json]

All rows are measured in one run, side by side, at the default sampling settings
(:data:`model.sample.DEFAULT_TEMPERATURE`, :data:`model.sample.DEFAULT_MIN_P`):

1. one /write-equivalent (one engine request of ``--length`` characters from a short
   seed): the new default model (with its n-gram mixture, as served) against the old
   default network (embedding 32, LSTM 128, no mixture; random weights of the same
   vocabulary: the cost does not depend on training). Target: at most 3x.
2. the engine against a bare batched loop of the same network: ``--rows`` rows of
   ``--length`` characters, the loop doing the same work per step (the LSTM through
   ``nn.LSTM`` one character at a time, the mixture, temperature, min-p, a Gumbel draw)
   without queue, admission, per-request noise streams or priming inside the batch.
   Once with one row and once with ``--rows``. Target: engine within 1.2x.

Medians over ``--repeats`` runs, after warm-up; each pair alternates so that a busy
machine slows both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from model.checkpoint import Checkpoint, load_checkpoint
from model.engine import GenerationEngine
from model.inference import min_p_mask
from model.mixture import ServingTables
from model.network import CharGenerator
from model.sample import DEFAULT_MIN_P, DEFAULT_TEMPERATURE, log_min_p
from model.shipped import SHIPPED_MODEL

SEED = "في الصباح "


def old_default(checkpoint: Checkpoint) -> Checkpoint:
    torch.manual_seed(0)
    model = CharGenerator(len(checkpoint.vocab), 32, 128).eval()
    return Checkpoint(model, checkpoint.vocab)


@torch.inference_mode()
def bare_loop(checkpoint: Checkpoint, rows: int, length: int) -> Callable[[], None]:
    """The same network stepped for ``rows`` rows, nothing around it."""
    model = checkpoint.model.eval()
    vocab = checkpoint.vocab
    tables = (
        ServingTables(checkpoint.mixture, vocab, torch.device("cpu"))
        if checkpoint.mixture is not None
        else None
    )
    seed_ids = torch.tensor(vocab.encode(SEED), dtype=torch.long)
    inv_t = 1.0 / DEFAULT_TEMPERATURE
    cut = torch.full((rows, 1), log_min_p(DEFAULT_MIN_P))
    gen = torch.Generator().manual_seed(0)

    def run() -> None:
        with torch.inference_mode():
            logits, hidden = model(seed_ids.expand(rows, -1))
            last = logits[:, -1]
            state = None
            if tables is not None:
                state = torch.full((rows,), tables.start_state(seed_ids.tolist()))
            for _ in range(length):
                if tables is not None and state is not None:
                    last = tables.mix(last, tables.share[state])
                scaled = last * inv_t
                if DEFAULT_MIN_P > 0:
                    scaled = min_p_mask(scaled, cut)
                u = torch.rand(scaled.shape, generator=gen).clamp_(1e-10, 1.0)
                x = (scaled - (-u.log()).log()).argmax(dim=-1)
                if tables is not None and state is not None:
                    state = tables.next_state[state, x]
                out, hidden = model(x.unsqueeze(1), hidden)
                last = out[:, -1]

    return run


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


async def engine_run(engine: GenerationEngine, rows: int, length: int, seed: int) -> float:
    started = time.perf_counter()
    await asyncio.gather(
        *(
            engine.generate(SEED, DEFAULT_TEMPERATURE, length, rng_seed=seed + i)
            for i in range(rows)
        )
    )
    return time.perf_counter() - started


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    new = load_checkpoint(args.checkpoint, "cpu")
    old = old_default(new)
    results: dict[str, Any] = {
        "checkpoint": str(args.checkpoint),
        "new_network": new.model.config.to_dict(),
        "mixture": None
        if new.mixture is None
        else {"order": new.mixture.order, "weight": new.mixture.weight},
        "temperature": DEFAULT_TEMPERATURE,
        "min_p": DEFAULT_MIN_P,
        "length": args.length,
        "threads": args.threads,
    }
    async with (
        GenerationEngine(new, "new", num_threads=args.threads) as e_new,
        GenerationEngine(old, "old", num_threads=args.threads) as e_old,
    ):
        for engine in (e_new, e_old):
            for i in range(3):
                await engine_run(engine, 1, args.length, i)
        t_new, t_old = [], []
        for i in range(args.repeats):
            t_new.append(await engine_run(e_new, 1, args.length, 100 + i))
            t_old.append(await engine_run(e_old, 1, args.length, 100 + i))
        new_s, old_s = statistics.median(t_new), statistics.median(t_old)
        results["write"] = {
            "new_ms": new_s * 1e3,
            "old_ms": old_s * 1e3,
            "ratio": new_s / old_s,
            "target": "<= 3",
            "met": new_s / old_s <= 3,
        }
        for rows in (1, args.rows):
            bare = bare_loop(new, rows, args.length)
            bare()
            await engine_run(e_new, rows, args.length, 0)
            t_engine, t_bare = [], []
            for i in range(max(3, args.repeats // (1 if rows == 1 else 3))):
                t_engine.append(await engine_run(e_new, rows, args.length, 1000 + i))
                t_bare.append(timed(bare))
            engine_s, bare_s = statistics.median(t_engine), statistics.median(t_bare)
            results[f"engine_vs_bare_{rows}"] = {
                "rows": rows,
                "engine_ms": engine_s * 1e3,
                "bare_ms": bare_s * 1e3,
                "ratio": engine_s / bare_s,
                "target": "<= 1.2",
                "met": engine_s / bare_s <= 1.2,
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default=str(SHIPPED_MODEL))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = asyncio.run(measure(args))
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return
    w = results["write"]
    print(
        f"one /write of {args.length} characters: new default {w['new_ms']:.1f} ms, "
        f"old 128-unit {w['old_ms']:.1f} ms: {w['ratio']:.2f}x (target <= 3: "
        f"{'met' if w['met'] else 'NOT met'})"
    )
    for rows in (1, args.rows):
        r = results[f"engine_vs_bare_{rows}"]
        print(
            f"engine vs bare batched loop, {rows} row(s): {r['engine_ms']:.1f} ms vs "
            f"{r['bare_ms']:.1f} ms: {r['ratio']:.2f}x (target <= 1.2: "
            f"{'met' if r['met'] else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
