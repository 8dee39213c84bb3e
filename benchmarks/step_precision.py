"""What float16 weights save the served step on a CPU, and what they cost in quality.

    python -m benchmarks.step_precision [--checkpoint data/default-model.pt]
                                        [--corpus data/arabic_text.txt]
                                        [--repeats 2000] [--json]

The engine's step is one matrix product of the hidden state with ``[W_fc; W_hh]``
(:class:`model.inference.StepWeights`) plus element-wise work. For LSTM 384 that product
reads 2.4 MB of float32 weights per step, more than a core's L2 cache holds. Each kind
of product is timed at its own *row granule* (the rows a lone /write multiplies: the
smallest row count at which every batch size gives a row the same bits) and at 64 rows,
one thread, side by side in this run:

- float32 ``torch.mm`` (MKL: granule 4 here, so a lone row costs a 4-row product);
- float16 weights, float32 activations and result (fbgemm ``linear_dynamic_fp16``,
  granule 1): what the step uses on x86 CPUs (:mod:`model.product`);
- int8 weights (fbgemm dynamic quantization): the activations are quantized with one
  scale for the *whole batch*, so a row's result depends on the other rows, which
  breaks the engine's promise that a fixed seed gives the same text alone or in a
  batch; shown as the control that explains why it is not used.

Then the quality the user gets: bits/char of the test part of ``--corpus`` read through
the serving step itself (the LSTM step and the checkpoint's n-gram mixture, one
character at a time, as the engine scores its draws), with float32 and with float16
weights.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from model.checkpoint import Checkpoint, load_checkpoint
from model.inference import StepWeights
from model.mixture import ServingTables
from model.product import Product
from model.shipped import SHIPPED_MODEL
from model.split import split_parts
from model.text import read_corpus


def per_call_us(fn: Callable[[], Any], repeats: int) -> float:
    for _ in range(max(10, repeats // 50)):
        fn()
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats * 1e6


def products(weights: StepWeights) -> dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], int]]:
    """Each kind of product of the top layer of float32 ``weights``, with its row granule."""
    top_t = weights.top.weight_t
    linear = torch.nn.Linear(top_t.shape[0], top_t.shape[1], bias=False)
    linear.weight.data = top_t.t().contiguous()
    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.simplefilter("ignore")
        int8 = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            torch.nn.Sequential(linear), {torch.nn.Linear}, dtype=torch.qint8
        )[0]
    f32, f16 = weights.top, Product(top_t, half=True)
    return {
        "float32": (f32.fresh, f32.granule),
        "float16 weights": (f16.fresh, f16.granule),
        "int8 dynamic": (lambda x: int8(x), 1),
    }


@torch.inference_mode()
def served_bits(checkpoint: Checkpoint, half: bool, text: str) -> float:
    """Bits/char of ``text`` through the serving step (and mixture), one row."""
    weights = StepWeights(checkpoint.model.eval(), half=half)
    tables = (
        None
        if checkpoint.mixture is None
        else ServingTables(checkpoint.mixture, checkpoint.vocab, weights.device)
    )
    ids = checkpoint.vocab.encode("".join(c for c in text if c in checkpoint.vocab))
    step = weights.bind(*weights.zero_state(weights.padded_rows(1)))
    x = torch.zeros(step.h.shape[1], dtype=torch.long)
    state, nats = 0, 0.0
    for t in range(len(ids) - 1):
        step.head()  # advance() reads the recurrent term from the product
        x[0] = ids[t]
        step.advance(x)
        if tables is not None:
            state = int(tables.next_state[state, ids[t]])
        logits = step.head()[:1]
        if tables is not None:
            logits = tables.mix(logits, tables.share[state : state + 1])
        nats -= float(F.log_softmax(logits.double(), dim=-1)[0, ids[t + 1]])
    return nats / (len(ids) - 1) / math.log(2)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(1)
    checkpoint = load_checkpoint(args.checkpoint, "cpu")
    weights = StepWeights(checkpoint.model.eval(), half=False)
    kinds = products(weights)
    gen = torch.Generator().manual_seed(0)
    results: dict[str, Any] = {"product": list(weights.top.weight_t.shape), "kinds": {}}
    with torch.inference_mode():
        for name, (fn, granule) in kinds.items():
            # Hidden states lie in (-1, 1); the row measured alone spans half of it, the
            # others all of it, as other requests' states may: a batch-wide activation
            # scale then differs from the one it gets alone.
            x = torch.rand(64, weights.top.weight_t.shape[0], generator=gen) * 2 - 1
            x[:granule] *= 0.5
            reference = torch.mm(x, weights.top.weight_t)
            lone = x[:granule].clone()
            results["kinds"][name] = {
                "granule": granule,
                "lone_write_us": per_call_us(functools.partial(fn, lone), args.repeats),
                "rows_64_us": per_call_us(functools.partial(fn, x), args.repeats // 4),
                "max_error": float((fn(x) - reference).abs().max()),
                "row_same_alone_and_batched": bool(torch.equal(fn(x)[:1], fn(lone)[:1])),
            }
    val = float(checkpoint.train_config.get("val_fraction") or 0.1)
    test = float(checkpoint.train_config.get("test_fraction") or 0.0)
    _, val_text, test_text = split_parts(read_corpus(args.corpus), val, test)
    part = test_text if test > 0 else val_text
    results["part"] = "test" if test > 0 else "validation"
    results["served_bits"] = {
        "float32": served_bits(checkpoint, False, part),
        "float16 weights": served_bits(checkpoint, True, part),
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default=str(SHIPPED_MODEL))
    parser.add_argument("--corpus", default=str(SHIPPED_MODEL.parent / "arabic_text.txt"))
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args)
    if args.json:
        print(json.dumps(results))
        return
    print(f"product {results['product']} (one thread)")
    for name, r in results["kinds"].items():
        print(
            f"  {name:<16} granule {r['granule']}: lone /write {r['lone_write_us']:6.1f} us, "
            f"64 rows {r['rows_64_us']:7.1f} us, max error {r['max_error']:.5f}, "
            f"row same alone/batched: {r['row_same_alone_and_batched']}"
        )
    bits = results["served_bits"]
    print(
        f"{results['part']} part through the serving step: float32 {bits['float32']:.4f}, "
        f"float16 weights {bits['float16 weights']:.4f} bits/char"
    )


if __name__ == "__main__":
    main()
