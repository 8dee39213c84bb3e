"""``python -m model train|generate|eval``: user mistakes are one line and exit status 2."""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from model.device import pick_device
from model.errors import ModelError
from model.sample import sample
from model.text import read_corpus
from model.train import Progress, TrainConfig, evaluate_known, train

EXIT_USAGE = 2
EXIT_CANCELLED = 3
EXIT_ORPHANED = 4  # the parent (the bot) died: nobody is left to use the result

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def exit_with_parent() -> None:
    """Make this process end within moments of its parent's death (``--exit-with-parent``).

    Two independent ways, since either alone has a gap: on Linux the kernel sends
    SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``); everywhere, a watchdog
    thread reads stdin, a pipe only the parent holds, and exits on end-of-file, which
    the kernel delivers when the parent dies however it dies. Exiting without cleanup
    is deliberate: a half-written temporary file is swept by the bot's next start.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the watchdog still works
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(EXIT_ORPHANED)

    def watch_stdin() -> None:
        # os.read on the raw descriptor: a daemon thread blocked inside sys.stdin's
        # buffered reader would hold its lock and abort the interpreter at exit.
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch_stdin, name="parent-watchdog", daemon=True).start()


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    defaults = TrainConfig()

    t = sub.add_parser("train", help="train a model on a UTF-8 text file")
    t.add_argument("--corpus", required=True, help="UTF-8 text file to train on")
    t.add_argument("--out", required=True, help="checkpoint file to write (atomically)")
    t.add_argument("--steps", type=_positive_int, default=defaults.steps)
    t.add_argument("--seq-len", type=_positive_int, default=defaults.seq_len)
    t.add_argument("--batch-size", type=_positive_int, default=defaults.batch_size)
    t.add_argument("--lr", type=_positive_float, default=defaults.lr)
    t.add_argument("--val-fraction", type=float, default=defaults.val_fraction)
    t.add_argument("--eval-every", type=_positive_int, default=defaults.eval_every)
    t.add_argument("--log-every", type=_positive_int, default=defaults.log_every)
    t.add_argument("--grad-clip", type=float, default=defaults.grad_clip)
    t.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    t.add_argument("--embed-size", type=_positive_int, default=defaults.embed_size)
    t.add_argument("--hidden-size", type=_positive_int, default=defaults.hidden_size)
    t.add_argument("--num-layers", type=_positive_int, default=defaults.num_layers)
    t.add_argument(
        "--last",
        action="store_true",
        help="keep the last step's weights instead of those with the best validation loss",
    )
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
    g.add_argument("--temperature", type=_positive_float, default=1.0)
    g.add_argument("--length", type=_non_negative_int, default=300)
    g.add_argument("--top-k", type=_non_negative_int, default=0, help="0 = off")
    g.add_argument("--rng-seed", type=int, default=None)
    g.add_argument("--device", default="auto")

    e = sub.add_parser("eval", help="loss and bits per character of a checkpoint on a text")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--corpus", required=True)
    e.add_argument("--device", default="auto")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _emit(stream: TextIO, event: str, **fields: Any) -> None:
    stream.write(json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n")
    stream.flush()


def _bar(p: Progress, stream: TextIO) -> None:
    width = 30
    filled = round(width * p.step / p.total_steps)
    val = f" val {p.val_loss:.4f}" if p.val_loss is not None else ""
    stream.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {p.step}/{p.total_steps} "
        f"loss {p.train_loss:.4f}{val} {p.elapsed_s:.0f}s eta {p.eta_s:.0f}s   "
    )
    stream.flush()


def run_train(args: argparse.Namespace) -> int:
    config = TrainConfig(
        steps=args.steps,
        seq_len=args.seq_len,
        batch_size=args.batch_size,
        lr=args.lr,
        val_fraction=args.val_fraction,
        eval_every=args.eval_every,
        log_every=args.log_every,
        grad_clip=args.grad_clip,
        seed=args.seed,
        embed_size=args.embed_size,
        hidden_size=args.hidden_size,
        num_layers=args.num_layers,
        keep_best=not args.last,
    )
    if args.exit_with_parent:
        exit_with_parent()
    text = read_corpus(args.corpus)
    device = pick_device(args.device)
    jsonl = args.progress == "jsonl"

    # SIGTERM (the bot's cancel) stops between steps, so nothing half-written remains.
    stop = {"requested": False}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, on_signal)

    def on_progress(p: Progress) -> None:
        if jsonl:
            _emit(sys.stdout, "progress", **p.to_dict())
        elif args.progress == "bar":
            _bar(p, sys.stderr)

    if jsonl:
        _emit(
            sys.stdout,
            "start",
            steps=config.steps,
            corpus_chars=len(text),
            device=str(device),
            config=config.to_dict(),
        )
    try:
        result = train(
            text,
            config,
            device=device,
            on_progress=on_progress,
            should_stop=lambda: stop["requested"],
        )
    except (InterruptedError, KeyboardInterrupt):
        if jsonl:
            _emit(sys.stdout, "cancelled")
        print("training cancelled; no checkpoint written", file=sys.stderr)
        return EXIT_CANCELLED
    if args.progress == "bar":
        sys.stderr.write("\n")
    checkpoint = Checkpoint.from_result(result)
    digest = save_checkpoint(checkpoint, args.out)
    summary = {
        "checkpoint": str(Path(args.out)),
        "sha256": digest,
        "vocab_size": len(result.vocab),
        **{k: v for k, v in result.metrics().items() if k != "history"},
    }
    if jsonl:
        _emit(sys.stdout, "done", **summary)
    else:
        val = summary["val_loss"]
        bpc = f" ({val / math.log(2):.3f} bits/char)" if val is not None else ""
        if result.best_step is not None:
            bpc += f", best at step {result.best_step}"
        print(
            f"trained {config.steps} steps in {result.elapsed_s:.1f}s on {device}: "
            f"last train loss {result.train_loss:.4f}, val loss "
            f"{'n/a' if val is None else f'{val:.4f}'}{bpc}; wrote {args.out}"
        )
    return 0


def run_generate(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.checkpoint, args.device)
    result = sample(
        checkpoint.model,
        checkpoint.vocab,
        args.seed,
        length=args.length,
        temperature=args.temperature,
        top_k=args.top_k or None,
        rng_seed=args.rng_seed,
    )
    if result.seed.dropped:
        print("note: dropped unknown characters: " + " ".join(result.seed.dropped), file=sys.stderr)
    print(result.text)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.checkpoint, args.device)
    text = read_corpus(args.corpus)
    vocab = checkpoint.vocab
    unknown = sorted({c for c in text if c not in vocab})
    seq_len = int(checkpoint.train_config.get("seq_len", 64))
    started = time.perf_counter()
    loss, kept = evaluate_known(checkpoint.model, vocab, text, seq_len)
    report = {
        "loss": loss,
        "bits_per_char": loss / math.log(2),
        "chars": len(kept),
        "skipped_unknown_chars": len(text) - len(kept),
        "unknown": "".join(unknown[:50]),
        "seconds": time.perf_counter() - started,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(
            f"loss {loss:.4f} nats/char, {report['bits_per_char']:.4f} bits/char "
            f"over {len(kept)} characters"
        )
        if unknown:
            print(
                f"note: skipped {report['skipped_unknown_chars']} characters unknown to the model",
                file=sys.stderr,
            )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"train": run_train, "generate": run_generate, "eval": run_eval}
    try:
        return handlers[args.command](args)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # TrainConfig's range checks
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # e.g. the --out directory is not writable, the disk is full
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_USAGE
