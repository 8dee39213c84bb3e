"""How much the amount of text matters: one learning curve, one held-out tail.

Protocol (one run, same machine): the corpus' last ``--val-fraction`` is the tail, never
trained on; for each size in ``--sizes`` the first that many characters of the rest
train a model with ``--recipe`` (extra ``--hidden-size``/``--embed-size``/``--dropout``
apply to every size) and a Kneser-Ney n-gram (best order 3-6, chosen on those
characters alone). Both are measured on the same tail, the model as one continuous
stream, so the rows differ only in how much text they learnt from.

``python -m benchmarks.corpus_size [--sizes 26000,66000,0]`` prints one JSON line per
size (0 = all of it) as it goes.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import torch

from model.split import split_text
from model.text import read_corpus
from model.train import TrainConfig, train

LN2 = math.log(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="data/arabic_text.txt")
    parser.add_argument("--sizes", default="26000,66000,0", help="characters; 0 = all")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--recipe", default="fit")
    parser.add_argument("--hidden-size", type=int, default=None)
    parser.add_argument("--embed-size", type=int, default=None)
    parser.add_argument("--dropout", type=float, default=None)
    parser.add_argument("--time-budget", type=float, default=None, help="seconds per size")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    head, tail = split_text(read_corpus(args.corpus), args.val_fraction)
    extra: dict[str, Any] = {
        key: value
        for key, value in (
            ("hidden_size", args.hidden_size),
            ("embed_size", args.embed_size),
            ("dropout", args.dropout),
            ("time_budget_s", args.time_budget),
        )
        if value is not None
    }
    for size in (int(s) for s in args.sizes.split(",")):
        part = head if size <= 0 else head[:size]
        # train() cuts its validation tail by ceil(n * fraction): this fraction cuts
        # exactly the fixed tail off part + tail.
        fraction = (len(tail) - 0.5) / (len(part) + len(tail))
        config = TrainConfig.for_recipe(
            args.recipe, text_chars=len(part) + len(tail), val_fraction=fraction, **extra
        )
        started = time.perf_counter()
        result = train(part + tail, config, device="cpu")
        assert result.val_stream_loss is not None and result.ngram_val_loss is not None
        model, ngram = result.val_stream_loss / LN2, result.ngram_val_loss / LN2
        row = {
            "train_chars": len(part),
            "tail_chars": len(tail),
            "model_bpc": round(model, 3),
            "ngram_bpc": round(ngram, 3),
            "ngram_order": result.ngram_order,
            "margin_bpc": round(ngram - model, 3),
            "steps_run": result.steps_run,
            "best_step": result.best_step,
            "stopped": result.stopped,
            "seconds": round(time.perf_counter() - started, 1),
            "config": {k: getattr(config, k) for k in ("hidden_size", "embed_size", "dropout")},
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
