"""The realism figures over a grid of sampling settings, to choose the defaults with.

    python -m benchmarks.sampling_grid [--checkpoint data/default-model.pt]
        [--corpus data/arabic_text.txt] [--temperatures 0.6,0.7,0.8,0.9,1.0]
        [--min-p 0,0.05,0.1,0.2] [--json]

For each (temperature, min-p): the share of generated words the dictionary rejects and
the share of repeated word 3-grams, from the same fixed prompts and RNG seeds as
``python -m model eval`` (on the checkpoint's test part), next to real held-out text's
repetition. The defaults are the most varied setting (highest temperature, then the
lowest min-p) whose non-words stay within the target by two standard errors (the noise
of ~2,600 words) and whose repetition stays within 5 points of real text's.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import torch

from model.checkpoint import load_checkpoint
from model.realism import (
    Settings,
    draw_samples,
    figures,
    lstm_sampler,
    open_dictionary,
    prompts_from,
    real_pieces,
)
from model.shipped import SHIPPED_MODEL
from model.split import split_parts
from model.text import read_corpus

MAX_NON_WORDS = 0.03
MAX_REPETITION_GAP = 0.05


def floats(value: str) -> list[float]:
    return [float(v) for v in value.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default=str(SHIPPED_MODEL))
    parser.add_argument("--corpus", default="data/arabic_text.txt")
    parser.add_argument("--temperatures", type=floats, default=[0.6, 0.7, 0.8, 0.9, 1.0])
    parser.add_argument("--min-p", type=floats, default=[0.0, 0.05, 0.1, 0.2])
    parser.add_argument("--no-mixture", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    checkpoint = load_checkpoint(args.checkpoint, "cpu")
    text = read_corpus(args.corpus)
    config = checkpoint.train_config
    train_text, val_text, test_text = split_parts(
        text, float(config.get("val_fraction") or 0.1), float(config.get("test_fraction") or 0)
    )
    held_out = test_text or val_text
    dictionary, is_dictionary = open_dictionary(held_out, train_text)
    prompts = prompts_from(held_out, checkpoint.vocab)
    real = figures(real_pieces(held_out), dictionary)
    mixture = None if args.no_mixture else checkpoint.mixture
    rows: list[dict[str, Any]] = []
    for temperature in args.temperatures:
        for min_p in args.min_p:
            settings = Settings(temperature=temperature, min_p=min_p)
            sampler = lstm_sampler(checkpoint.model, checkpoint.vocab, mixture, settings)
            f = figures(draw_samples(sampler, prompts), dictionary)
            # Two standard errors of the share (a binomial over the words drawn), so that
            # a setting just under the target by luck of the seeds is not chosen.
            noise = 2 * math.sqrt(f.rejected_share * (1 - f.rejected_share) / max(1, f.words))
            ok = (
                f.rejected_share + noise <= MAX_NON_WORDS
                and abs(f.repeated_share - real.repeated_share) <= MAX_REPETITION_GAP
            )
            rows.append({"temperature": temperature, "min_p": min_p, **f.to_dict(), "ok": ok})
            if not args.json:
                print(
                    f"T {temperature:<4} min-p {min_p:<5} non-words {f.rejected_share:6.1%}  "
                    f"repeated 3-grams {f.repeated_share:5.1%}  words {f.words}"
                    + ("  <- within targets" if ok else ""),
                    flush=True,
                )
    fitting = [r for r in rows if r["ok"]]
    chosen = max(fitting, key=lambda r: (r["temperature"], -r["min_p"])) if fitting else None
    summary = {
        "dictionary": dictionary.description,
        "is_dictionary": is_dictionary,
        "mixture": mixture is not None,
        "real_repeated_share": real.repeated_share,
        "real_rejected_share": real.rejected_share,
        "rows": rows,
        "chosen": chosen,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(
            f"real held-out text: non-words {real.rejected_share:.1%}, repeated 3-grams "
            f"{real.repeated_share:.1%}; judged by {dictionary.description}"
        )
        print(
            "chosen: "
            + (
                f"temperature {chosen['temperature']}, min-p {chosen['min_p']}"
                if chosen
                else "none within the targets"
            )
        )


if __name__ == "__main__":
    main()
