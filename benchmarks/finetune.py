"""Fine-tuning from the default model against training from scratch.

Protocol (one run, same machine, same wall-clock budget for both):
1. the "default model" is trained with the fit recipe on the default corpus minus its
   last ``--new-chars`` characters (or loaded with ``--base``);
2. those last characters are the "new text", never seen by it: 3-5 K characters of
   the same language with a few characters the base may not know;
3. fine-tuning (``init`` = the base, the fit recipe's fine-tuning rate, the previous
   text mixed in) and training from scratch (the fit recipe) each get ``--budget``
   seconds on the new text;
4. all are measured on the new text's validation tail (its last ``--new-val-fraction``;
   a quarter by default, so the tail is long enough to tell contenders apart) as one
   stream, on the characters the base model knows, next to two controls:
   - the base model *without* fine-tuning (doing nothing);
   - a Kneser-Ney 5-gram given all the text the fine-tuned model saw (the previous
     text and the new text's training part);
   and the n-gram of the new text alone.

``python -m benchmarks.finetune [--new-chars 12000] [--budget 60]`` prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from model.network import CharGenerator
from model.ngram import MAX_TRAIN_CHARS, KneserNey
from model.recipe import FINETUNE, REPLAY_FRACTION
from model.scoring import evaluate_stream
from model.split import split_text
from model.text import read_corpus
from model.train import TrainConfig, train
from model.vocab import Vocabulary

LN2 = math.log(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="data/arabic_text.txt")
    parser.add_argument("--new-chars", type=int, default=12000)
    parser.add_argument("--new-val-fraction", type=float, default=0.25)
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
        result = train(
            old,
            TrainConfig.for_recipe("fit", text_chars=len(old), hidden_size=128, embed_size=32),
            device="cpu",
        )
        base = Checkpoint.from_result(result)
        if args.save_base:
            save_checkpoint(base, args.save_base)
    base_s = time.perf_counter() - started

    budget = {
        "time_budget_s": args.budget,
        "patience": 0,
        "val_fraction": args.new_val_fraction,
        "hidden_size": base.model.config.hidden_size,
        "embed_size": base.model.config.embed_size,
    }
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

    new_train, tail = split_text(new, args.new_val_fraction)
    kept = "".join(c for c in tail if c in base.vocab)

    def stream(model: CharGenerator, vocab: Vocabulary) -> float:
        ids = torch.tensor(vocab.encode(kept), dtype=torch.long)
        return evaluate_stream(model, ids)

    seen = (old + new_train)[-MAX_TRAIN_CHARS:]
    alphabet = set(seen) | set(kept)
    kn_all = KneserNey(seen, 5, alphabet).cross_entropy(kept)
    kn_new = KneserNey(new_train, 5, alphabet).cross_entropy(kept)
    figures = {
        "finetuned": stream(fine.model, fine.vocab),
        "fresh": stream(fresh.model, fresh.vocab),
        "base_without_finetuning": stream(base.model, base.vocab),
        "kn5_all_text_seen": kn_all,
        "kn5_new_text_only": kn_new,
    }
    best = min(figures, key=lambda k: figures[k])

    print(
        json.dumps(
            {
                "new_chars": len(new),
                "new_characters_unknown_to_base": "".join(sorted(set(new) - set(base.vocab.itos))),
                "budget_s": args.budget,
                "base_train_s": round(base_s, 1),
                "tail_chars": len(kept),
                "tail_chars_unknown_to_base": len(tail) - len(kept),
                "bits_per_char": {k: bits(v) for k, v in figures.items()},
                "best": best,
                "finetune_steps": fine.steps_run,
                "fresh_steps": fresh.steps_run,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
