"""The command line of ``python -m model``: its subcommands, their flags, and the checks
that turn a bad value into one line and exit status 2 (argparse's own).
"""

from __future__ import annotations

import argparse
import math

from model.recipe import RECIPES
from model.sample import DEFAULT_MIN_P, DEFAULT_TEMPERATURE
from model.train import TrainConfig


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return number


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return number


def _positive_int(value: str) -> int:
    number = _non_negative_int(value)
    if number == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _steps(value: str) -> int | str:
    return "auto" if value.strip().lower() == "auto" else _positive_int(value)


def _fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= number < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return number


def _non_negative_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    defaults = TrainConfig()

    t = sub.add_parser("train", help="train a model on a UTF-8 text file")
    t.add_argument("--corpus", required=True, help="UTF-8 text file to train on")
    t.add_argument("--out", required=True, help="checkpoint file to write (atomically)")
    t.add_argument(
        "--steps",
        type=_steps,
        default=None,
        help=f"a number, or auto: sized from the text (default {defaults.steps}; auto with "
        "--recipe fit)",
    )
    t.add_argument("--seq-len", type=_positive_int, default=defaults.seq_len)
    t.add_argument("--batch-size", type=_positive_int, default=defaults.batch_size)
    t.add_argument(
        "--lr",
        type=_positive_float,
        default=None,
        help=f"peak learning rate (default {defaults.lr}; 6e-3 with --recipe fit, 2e-3 when "
        "fine-tuning with --init)",
    )
    t.add_argument("--val-fraction", type=float, default=defaults.val_fraction)
    t.add_argument(
        "--test-fraction",
        type=_fraction,
        default=defaults.test_fraction,
        help="a test part after the validation tail, never trained on nor used to choose "
        "(0 = none, the default)",
    )
    t.add_argument("--eval-every", type=_positive_int, default=defaults.eval_every)
    t.add_argument("--log-every", type=_positive_int, default=defaults.log_every)
    t.add_argument("--grad-clip", type=float, default=defaults.grad_clip)
    t.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    t.add_argument(
        "--embed-size",
        type=_positive_int,
        default=None,
        help=f"default {defaults.embed_size}; with --recipe fit sized from the text and device",
    )
    t.add_argument(
        "--hidden-size",
        type=_positive_int,
        default=None,
        help=f"default {defaults.hidden_size}; with --recipe fit sized from the text and device",
    )
    t.add_argument("--num-layers", type=_positive_int, default=defaults.num_layers)
    t.add_argument(
        "--last",
        action="store_true",
        help="keep the last step's weights instead of those with the best validation loss",
    )
    # the recipe, its knobs (each overrides the recipe's value), fine-tuning
    t.add_argument(
        "--recipe",
        choices=RECIPES,
        default="reference",
        help="reference (the default, exactly as before) or fit: dropout, weight decay, "
        "one-cycle schedule, --steps auto with early stopping",
    )
    t.add_argument("--dropout", type=_fraction, default=None)
    t.add_argument(
        "--weight-drop", type=_fraction, default=None, help="DropConnect on recurrent weights"
    )
    t.add_argument("--weight-decay", type=_non_negative_float, default=None)
    t.add_argument("--schedule", choices=("constant", "onecycle"), default=None)
    t.add_argument("--patience", type=_non_negative_int, default=None, help="0 = off")
    t.add_argument(
        "--no-mixture",
        action="store_true",
        help="do not fit the n-gram mixture on validation (the fit recipe does by default)",
    )
    t.add_argument("--ema", type=_fraction, default=None, help="weight averaging decay, 0 = off")
    t.add_argument(
        "--time-budget", type=_non_negative_float, default=None, help="seconds, 0 = none"
    )
    t.add_argument(
        "--init",
        default=None,
        help="fine-tune: start from this checkpoint's weights, growing its vocabulary",
    )
    t.add_argument(
        "--init-sha256",
        default=None,
        help="with --init: refuse the checkpoint unless its file has this SHA-256",
    )
    t.add_argument("--replay-corpus", default=None, help="with --init: the previous text, mixed in")
    t.add_argument("--replay-fraction", type=_fraction, default=None)
    t.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1 ...")
    t.add_argument("--progress", choices=("bar", "jsonl", "none"), default="bar")
    t.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop at once when the parent process dies or closes stdin (for the bot)",
    )

    g = sub.add_parser("generate", help="continue a seed with a trained model")
    g.add_argument("--checkpoint", required=True)
    g.add_argument("--seed", required=True, help="text to continue")
    g.add_argument(
        "--temperature",
        type=_positive_float,
        default=DEFAULT_TEMPERATURE,
        help=f"default {DEFAULT_TEMPERATURE}, the bot's",
    )
    g.add_argument("--length", type=_non_negative_int, default=300)
    g.add_argument("--top-k", type=_non_negative_int, default=0, help="0 = off")
    g.add_argument(
        "--min-p",
        type=_fraction,
        default=DEFAULT_MIN_P,
        help=f"drop characters below this share of the likeliest (default {DEFAULT_MIN_P}, "
        "the bot's; 0 = off)",
    )
    g.add_argument(
        "--no-mixture",
        action="store_true",
        help="sample the LSTM alone, without the checkpoint's n-gram (the bot mixes)",
    )
    g.add_argument("--rng-seed", type=int, default=None)
    g.add_argument("--device", default="auto")

    m = sub.add_parser(
        "mix",
        help="fit the n-gram mixture of a trained checkpoint on its validation part",
    )
    m.add_argument("--checkpoint", required=True)
    m.add_argument("--corpus", required=True, help="the text it was trained on")
    m.add_argument("--out", required=True)
    m.add_argument("--device", default="cpu")

    e = sub.add_parser("eval", help="loss and bits per character of a checkpoint on a text")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--corpus", required=True)
    e.add_argument("--device", default="auto")
    e.add_argument(
        "--val-fraction",
        type=_fraction,
        default=None,
        help="the validation tail to compare on (default: the checkpoint's own, else 0.1)",
    )
    e.add_argument(
        "--test-fraction",
        type=_fraction,
        default=None,
        help="the test part to report on (default: the checkpoint's own)",
    )
    e.add_argument(
        "--no-realism", action="store_true", help="skip the samples judged by a dictionary"
    )
    e.add_argument("--temperature", type=_positive_float, default=DEFAULT_TEMPERATURE)
    e.add_argument("--min-p", type=_fraction, default=DEFAULT_MIN_P)
    e.add_argument(
        "--language", default=None, help="dictionary tag (default: from the text's script)"
    )
    e.add_argument("--json", action="store_true", help="print one JSON object")
    return parser
