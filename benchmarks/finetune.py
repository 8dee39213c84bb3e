"""Fine-tuning from the default model against training from scratch (issue 13's target).

Protocol (one run, same machine, same wall-clock budget for both):
1. the "default model" is trained with the fit recipe on the default corpus minus its
   last ``--new-chars`` characters (or loaded with ``--base``);
2. those last characters are the "new text", never seen by it: 3-5 K characters of
   the same language with a few characters the base may not know;
3. fine-tuning (``init`` = the base, the fit recipe's fine-tuning rate, the previous
   text mixed in) and training from scratch (the fit recipe) each get ``--budget``
   seconds on the new text;
4. both are measured on the new text's validation tail (last 10 %) as one stream,
   next to the n-gram baseline of that text.

``python -m benchmarks.finetune [--new-chars 4500] [--budget 60]`` prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from model.recipe import FINETUNE, REPLAY_FRACTION
from model.text import read_corpus
from model.train import TrainConfig, train

LN2 = math.log(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="data/arabic_text.txt")
    parser.add_argument("--new-chars", type=int, default=4500)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per contender")
    parser.add_argument("--base", default="", help="a base checkpoint instead of training one")
    parser.add_argument("--save-base", default="", help="write the trained base here")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    text = read_corpus(args.corpus)
    old, new = text[: -args.new_chars], text[-args.new_chars :]
    started = time.perf_counter()
    if args.base:
        base = load_checkpoint(args.base, "cpu")
    else:
        result = train(old, TrainConfig.for_recipe("fit", text_chars=len(old)), device="cpu")
        base = Checkpoint.from_result(result)
        if args.save_base:
            save_checkpoint(base, args.save_base)
    base_s = time.perf_counter() - started

    budget = {"time_budget_s": args.budget, "patience": 0}
    fine = train(
        new,
        TrainConfig.for_recipe(
            "fit", text_chars=len(new), **FINETUNE, **budget, replay_fraction=REPLAY_FRACTION
        ),
        device="cpu",
        init=(base.model, base.vocab),
        replay_text=old,
    )
    fresh = train(new, TrainConfig.for_recipe("fit", text_chars=len(new), **budget), device="cpu")

    def bits(value: float | None) -> float | None:
        return None if value is None else round(value / LN2, 4)

    print(
        json.dumps(
            {
                "new_chars": len(new),
                "new_characters_unknown_to_base": "".join(sorted(set(new) - set(base.vocab.itos))),
                "budget_s": args.budget,
                "base_train_s": round(base_s, 1),
                "finetune_bpc": bits(fine.val_stream_loss),
                "finetune_steps": fine.steps_run,
                "fresh_bpc": bits(fresh.val_stream_loss),
                "fresh_steps": fresh.steps_run,
                "ngram_bpc": bits(fresh.ngram_val_loss),
                "ngram_order": fresh.ngram_order,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
