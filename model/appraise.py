"""``python -m model.appraise``: judge a /retrain's candidates, keep the winner, and
stamp its checkpoint with the figures the outcome reports.

A /retrain that may fine-tune trains two candidates: the active model fine-tuned on the
new text, and a network trained on it from scratch. Doing nothing (the active model as
it is, "the base") is the third contender. All three are judged on the same held-out
tail of the new text (its last ``--val-fraction``), read as one stream by the LSTM alone
(the mixture, where there is one, was fitted on that very tail, so it would favour its
own model), on the characters each model knows. The base is judged only where it knows
nearly all of the tail: a model that cannot write the text cannot win on it.

The checkpoint written to ``--out`` is the best candidate's, with ``choice`` (the
winner, each contender's bits/char, the margin) and ``realism`` (``model.realism`` at
the bot's default sampling settings, on the same tail) added to its metrics. When the
base wins, the best candidate is still written, so the run has something to register;
its ``choice.winner`` says "base" and the bot does not activate it.

Prints one JSON line ``{"event": "done", "sha256": ..., ...}`` on success; errors go to
stderr as ``error: ...`` with exit status 2, as ``python -m model train`` does.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

import torch

from model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from model.errors import ModelError
from model.gc_policy import freeze_start_up_objects
from model.realism import Settings, measure
from model.sample import DEFAULT_MIN_P, DEFAULT_TEMPERATURE
from model.scoring import STREAM_EVAL_CHARS, evaluate_stream
from model.split import split_text
from model.text import read_corpus

EXIT_USAGE = 2
# The base must know this share of the tail's characters to be judged on it (the
# bot's judge asks the same of the active model).
MIN_BASE_COVERAGE = 0.99
BASE = "base"


def tail_of(text: str, val_fraction: float) -> tuple[str, str]:
    """(training head, held-out tail), as the bot's judge splits a new text."""
    head, tail = split_text(text, val_fraction)
    return (head, tail) if len(tail) >= 2 else (text, text)


def stream_bits(checkpoint: Checkpoint, text: str) -> tuple[float | None, float]:
    """(bits/char of the LSTM on the characters of ``text`` it knows read as one stream,
    share of ``text``'s characters it knows)."""
    kept = "".join(c for c in text if c in checkpoint.vocab)
    coverage = len(kept) / max(1, len(text))
    if len(kept) < 2:
        return None, coverage
    device = checkpoint.model.embed.weight.device
    ids = torch.tensor(checkpoint.vocab.encode(kept), dtype=torch.long, device=device)
    loss = evaluate_stream(checkpoint.model, ids, max_chars=STREAM_EVAL_CHARS)
    return (loss / math.log(2) if math.isfinite(loss) else None), coverage


def decide(bits: dict[str, float | None], base: float | None) -> tuple[str, str, float | None]:
    """(winner, best candidate, margin in bits/char over the runner-up).

    The winner is the candidate with the fewest bits/char, or ``"base"`` when the base
    is judged and no candidate is strictly below it.
    """
    scored = {name: b for name, b in bits.items() if b is not None}
    if not scored:
        raise ModelError("no candidate could be judged on the held-out tail")
    best = min(scored, key=lambda name: scored[name])
    others = [b for name, b in scored.items() if name != best]
    if base is not None and base <= scored[best]:
        return BASE, best, scored[best] - base
    if base is not None:
        others.append(base)
    return best, best, (min(others) - scored[best]) if others else None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m model.appraise", description=__doc__)
    p.add_argument("--corpus", required=True, help="the new text the candidates trained on")
    p.add_argument("--val-fraction", type=float, required=True)
    p.add_argument("--out", required=True, help="where the winner's checkpoint is written")
    p.add_argument(
        "--candidate", action="append", required=True, metavar="NAME=PATH",
        help="a trained candidate (repeat for each)",
    )  # fmt: skip
    p.add_argument("--base", default=None, help="the active model's checkpoint (doing nothing)")
    p.add_argument("--realism-words", type=int, default=0, help="0 = no realism figures")
    p.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE)
    p.add_argument("--min-p", type=float, default=DEFAULT_MIN_P)
    p.add_argument("--length", type=int, default=Settings.length)
    p.add_argument("--device", default="cpu")
    p.add_argument("--exit-with-parent", action="store_true")
    p.add_argument("--progress", default="jsonl", help="accepted for symmetry; always jsonl")
    return p


def appraise(args: argparse.Namespace) -> dict[str, Any]:
    text = read_corpus(args.corpus)
    head, tail = tail_of(text, args.val_fraction)
    candidates: dict[str, Checkpoint] = {}
    for given in args.candidate:
        name, _, path = given.partition("=")
        candidates[name] = load_checkpoint(path, args.device)
    bits = {name: stream_bits(c, tail)[0] for name, c in candidates.items()}
    base_bits, coverage = None, None
    if args.base:
        base_bits, coverage = stream_bits(load_checkpoint(args.base, args.device), tail)
        if coverage < MIN_BASE_COVERAGE:
            base_bits = None
    winner, best, margin = decide(bits, base_bits)
    checkpoint = candidates[best]
    if len(candidates) > 1 or args.base:
        checkpoint.metrics["choice"] = {
            "winner": winner,
            "kept": best,
            "bits": {**bits, BASE: base_bits},
            "base_coverage": coverage,
            "margin": margin,
            "tail_chars": len(tail),
        }
    if args.realism_words > 0:
        settings = Settings(temperature=args.temperature, min_p=args.min_p, length=args.length)
        realism = measure(
            checkpoint.model, checkpoint.vocab, checkpoint.mixture, head, tail, settings,
            min_words=args.realism_words,
        )  # fmt: skip
        checkpoint.metrics["realism"] = realism.to_dict()
    digest = save_checkpoint(checkpoint, args.out)
    metrics = checkpoint.metrics
    return {
        "event": "done",
        "checkpoint": str(args.out),
        "sha256": digest,
        "winner": winner,
        "kept": best,
        "train_loss": metrics.get("train_loss"),
        "val_loss": metrics.get("val_loss"),
        "choice": metrics.get("choice"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    freeze_start_up_objects()
    if args.exit_with_parent:
        from model.cli import exit_with_parent

        exit_with_parent()
    try:
        done = appraise(args)
    except (ModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(done, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
