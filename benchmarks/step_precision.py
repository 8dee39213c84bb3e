"""What lower-precision weights would save the served step on a CPU, and what they break.

    python -m benchmarks.step_precision [--checkpoint data/default-model.pt]
                                        [--repeats 2000] [--json]

The engine's step is one matrix product of the hidden state with ``[W_fc; W_hh]``
(:class:`model.inference.StepWeights`) plus element-wise work. For LSTM 384 that product
reads 2.4 MB of float32 weights per step, more than a core's cache holds: it is bound by
memory, so fewer bytes per weight should pay. Timed side by side, one thread, at the
weights' row granule (one /write) and at 64 rows:

- float32 ``torch.mm`` (today);
- float16 weights, float32 activations (fbgemm ``linear_dynamic_fp16``);
- int8 weights (fbgemm dynamic quantization, per-tensor weight scale): the activations
  are quantized with one scale for the *whole batch*, so a row's result depends on the
  other rows. The engine promises that a fixed seed gives the same text alone or in a
  batch; this row checks that promise directly.

Reported: microseconds per product, the largest logit error against float32, and
whether the first row gets the same bits alone as in the batch.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

from model.checkpoint import load_checkpoint
from model.inference import StepWeights
from model.shipped import SHIPPED_MODEL


def per_call_us(fn: Callable[[], Any], repeats: int) -> float:
    for _ in range(max(10, repeats // 50)):
        fn()
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats * 1e6


@torch.inference_mode()
def measure(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(1)
    weights = StepWeights(load_checkpoint(args.checkpoint, "cpu").model.eval())
    top_t = weights.top_t
    w = top_t.t().contiguous()
    packed16 = torch.ops.quantized.linear_prepack_fp16(w, None)
    linear = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
    linear.weight.data = w
    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.simplefilter("ignore")
        int8 = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            torch.nn.Sequential(linear), {torch.nn.Linear}, dtype=torch.qint8
        )[0]
    kinds: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "float32": lambda x: torch.mm(x, top_t),
        "float16 weights": lambda x: torch.ops.quantized.linear_dynamic_fp16(x, packed16),
        "int8 dynamic": lambda x: int8(x),
    }
    gen = torch.Generator().manual_seed(0)
    results: dict[str, Any] = {"product": list(top_t.shape), "granule": weights.granule}
    for rows in (weights.granule, 64):
        # Hidden states lie in (-1, 1); the rows measured alone span half of it, the
        # others all of it, as other requests' states may: the batch-wide activation
        # scale then differs from the one they get alone.
        x = torch.rand(rows, w.shape[1], generator=gen) * 2 - 1
        x[: weights.granule] *= 0.5
        reference = torch.mm(x, top_t)
        for name, fn in kinds.items():
            alone = fn(x[: weights.granule])
            results[f"{name}, {rows} rows"] = {
                "us": per_call_us(functools.partial(fn, x), args.repeats),
                "max_error": float((fn(x) - reference).abs().max()),
                "row_same_alone_and_batched": bool(torch.equal(fn(x)[:1], alone[:1])),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default=str(SHIPPED_MODEL))
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args)
    if args.json:
        print(json.dumps(results))
        return
    print(f"product {results.pop('product')}, row granule {results.pop('granule')}")
    for name, r in results.items():
        print(
            f"  {name:<28}{r['us']:8.1f} us  max error {r['max_error']:.4f}  "
            f"row same alone/batched: {r['row_same_alone_and_batched']}"
        )


if __name__ == "__main__":
    main()
