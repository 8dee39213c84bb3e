"""``python -m model train|generate|eval``: user mistakes are one line and exit status 2."""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import torch

from model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from model.cli_parser import build_parser
from model.device import pick_device
from model.errors import CheckpointError, ModelError
from model.evaluation import compare, format_comparison, format_held_out, held_out
from model.gc_policy import freeze_start_up_objects
from model.mixture import fit_mixture
from model.realism import Settings, format_realism, measure
from model.recipe import FINETUNE, REPLAY_FRACTION, recipe_overrides
from model.sample import sample
from model.scoring import evaluate_known
from model.split import split_parts
from model.text import read_corpus, sha256_text
from model.train import Progress, TrainConfig, TrainResult, planned_steps, sized_network, train

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


def train_config(
    args: argparse.Namespace,
    text_chars: int | None = None,
    device: str | torch.device | None = None,
) -> TrainConfig:
    """The recipe's values for a text of ``text_chars``, overridden by every flag given
    explicitly."""
    fields: dict[str, Any] = recipe_overrides(args.recipe, text_chars)
    fields["recipe"] = args.recipe
    if args.init:
        fields.update(FINETUNE)
    if args.replay_corpus:
        fields["replay_fraction"] = REPLAY_FRACTION
    if args.steps == "auto":
        fields["auto_steps"] = True
    elif args.steps is not None:
        fields.update(steps=args.steps, auto_steps=False)
    explicit = {
        "dropout": args.dropout,
        "weight_drop": args.weight_drop,
        "weight_decay": args.weight_decay,
        "schedule": args.schedule,
        "patience": args.patience,
        "ema": args.ema,
        "time_budget_s": args.time_budget,
        "replay_fraction": args.replay_fraction,
        "lr": args.lr,
    }
    fields.update({k: v for k, v in explicit.items() if v is not None})
    if args.no_mixture:
        fields["mixture"] = False
    config = TrainConfig(
        **fields,
        seq_len=args.seq_len,
        batch_size=args.batch_size,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        eval_every=args.eval_every,
        log_every=args.log_every,
        grad_clip=args.grad_clip,
        seed=args.seed,
        embed_size=args.embed_size or TrainConfig.embed_size,
        hidden_size=args.hidden_size or TrainConfig.hidden_size,
        num_layers=args.num_layers,
        keep_best=not args.last,
    )
    if args.recipe == "fit" and text_chars and not (args.embed_size or args.hidden_size):
        sized = sized_network(config, text_chars, device)
        given = {
            k: v for k, v in explicit.items() if k in ("dropout", "weight_drop") and v is not None
        }
        config = replace(config, **{**sized, **given})
    return config


def run_train(args: argparse.Namespace) -> int:
    train_config(args)  # a bad flag is refused before the corpus is read
    if args.exit_with_parent:
        exit_with_parent()
    text = read_corpus(args.corpus)
    device = pick_device(args.device)
    config = train_config(args, len(text), device)
    jsonl = args.progress == "jsonl"
    init = None
    if args.init:
        start = load_checkpoint(args.init, device)
        if args.init_sha256 and start.sha256 != args.init_sha256:
            raise CheckpointError(
                f"{args.init} is not the checkpoint fine-tuning was planned from (its "
                "SHA-256 changed since); nothing was trained"
            )
        init = (start.model, start.vocab)
    replay = read_corpus(args.replay_corpus) if args.replay_corpus else None

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
            steps=planned_steps(config, len(text), finetune=init is not None),
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
            init=init,
            replay_text=replay,
        )
    except (InterruptedError, KeyboardInterrupt):
        if jsonl:
            _emit(sys.stdout, "cancelled")
        print("training cancelled; no checkpoint written", file=sys.stderr)
        return EXIT_CANCELLED
    if args.progress == "bar":
        sys.stderr.write("\n")
    checkpoint = Checkpoint.from_result(result)
    # What made this file, so that it can be made again (with the seed and the corpus
    # SHA-256 that the metrics and the config already hold).
    checkpoint.metrics["command"] = shlex.join(["python", "-m", "model", *args.argv])
    checkpoint.metrics["torch_threads"] = torch.get_num_threads()
    checkpoint.metrics["torch_version"] = str(
        torch.__version__
    )  # a plain str: weights_only loads only plain types
    digest = save_checkpoint(checkpoint, args.out)
    summary = {
        "checkpoint": str(Path(args.out)),
        "sha256": digest,
        "vocab_size": len(result.vocab),
        **{k: v for k, v in result.metrics().items() if k != "history"},
        **_bits(result.val_stream_loss, result.ngram_val_loss),
    }
    if jsonl:
        _emit(sys.stdout, "done", **summary)
    else:
        val = summary["val_loss"]
        bpc = f" ({val / math.log(2):.3f} bits/char)" if val is not None else ""
        if result.best_step is not None:
            bpc += f", best at step {result.best_step}"
        print(
            f"trained {result.steps_run} steps in {result.elapsed_s:.1f}s on {device}: "
            f"last train loss {result.train_loss:.4f}, val loss "
            f"{'n/a' if val is None else f'{val:.4f}'}{bpc}; wrote {args.out}"
        )
        if result.val_stream_loss is not None and result.ngram_val_loss is not None:
            print(_against_baseline(result.val_stream_loss, result.ngram_val_loss, result))
        mixture = result.mixture
        if mixture is not None and mixture.validation_loss is not None:
            print(
                f"mixed per character with its Kneser-Ney {mixture.order}-gram "
                f"({mixture.describe()}): {mixture.validation_loss / math.log(2):.3f} bits/char "
                "on validation"
            )
    return 0


def _bits(stream: float | None, ngram: float | None) -> dict[str, float | None]:
    """The done event's bits/char figures (the model as one stream, the n-gram baseline)."""
    return {
        "val_bits_per_char": None if stream is None else stream / math.log(2),
        "ngram_bits_per_char": None if ngram is None else ngram / math.log(2),
    }


def _against_baseline(stream: float, ngram: float, result: TrainResult) -> str:
    model_bpc, base_bpc = stream / math.log(2), ngram / math.log(2)
    verdict = (
        f"below it by {base_bpc - model_bpc:.3f}"
        if model_bpc < base_bpc
        else f"NOT below it ({model_bpc - base_bpc:.3f} above)"
    )
    return (
        f"validation tail as one stream: {model_bpc:.3f} bits/char; Kneser-Ney "
        f"{result.ngram_order}-gram baseline {base_bpc:.3f}: the model is {verdict}"
    )


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
        mixture=None if args.no_mixture else checkpoint.mixture,
        min_p=args.min_p,
    )
    if result.seed.dropped:
        print("note: dropped unknown characters: " + " ".join(result.seed.dropped), file=sys.stderr)
    print(result.text)
    return 0


def run_mix(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.checkpoint, args.device)
    text = read_corpus(args.corpus)
    recorded = checkpoint.metrics.get("corpus_sha256")
    if recorded and recorded != sha256_text(text):
        raise CheckpointError(
            f"{args.checkpoint} was trained on another text than {args.corpus} "
            "(its recorded corpus SHA-256 differs); the mixture must count its training part"
        )
    config = checkpoint.train_config
    train_text, val_text, _ = split_parts(
        text, float(config.get("val_fraction") or 0.1), float(config.get("test_fraction") or 0)
    )
    mixture = fit_mixture(checkpoint.model, checkpoint.vocab, train_text, val_text)
    checkpoint.mixture = mixture
    checkpoint.metrics.update(
        mixture_val_loss=mixture.validation_loss,
        mixture_order=mixture.order,
        mixture_weight=mixture.weight,
        mixture_form=mixture.form,
        mixture_ngram_exponent=mixture.ngram_exponent,
        mix_command=shlex.join(["python", "-m", "model", *args.argv]),
    )
    digest = save_checkpoint(checkpoint, args.out)
    loss = mixture.validation_loss or math.nan
    print(
        f"mixture ({mixture.form}): {mixture.describe()} (Kneser-Ney), "
        f"{loss / math.log(2):.3f} bits/char on validation; wrote {args.out} (sha256 {digest})"
    )
    return 0


def run_eval(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.checkpoint, args.device)
    text = read_corpus(args.corpus)
    vocab = checkpoint.vocab
    unknown = sorted({c for c in text if c not in vocab})
    seq_len = int(checkpoint.train_config.get("seq_len", 64))
    val_fraction = args.val_fraction
    if val_fraction is None:
        val_fraction = float(checkpoint.train_config.get("val_fraction") or 0.1) or 0.1
    test_fraction = args.test_fraction
    if test_fraction is None:
        test_fraction = float(checkpoint.train_config.get("test_fraction") or 0.0)
    started = time.perf_counter()
    loss, kept = evaluate_known(checkpoint.model, vocab, text, seq_len)
    comparison = compare(checkpoint.model, vocab, text, val_fraction, seq_len, test_fraction)
    report_part = held_out(
        checkpoint.model, vocab, checkpoint.mixture, text, val_fraction, test_fraction
    )
    realism = None
    if not args.no_realism:
        train_text, val_text, test_text = split_parts(text, val_fraction, test_fraction)
        realism = measure(
            checkpoint.model,
            vocab,
            checkpoint.mixture,
            train_text,
            test_text if test_fraction > 0 else val_text,
            Settings(temperature=args.temperature, min_p=args.min_p),
            language=args.language,
        )
    report = {
        "loss": loss,
        "bits_per_char": loss / math.log(2),
        "chars": len(kept),
        "skipped_unknown_chars": len(text) - len(kept),
        "unknown": "".join(unknown[:50]),
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
        "validation": comparison.to_dict(),
        "held_out": report_part.to_dict(),
        "realism": None if realism is None else realism.to_dict(),
        "seconds": time.perf_counter() - started,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(
            f"whole text, windows: loss {loss:.4f} nats/char, {report['bits_per_char']:.4f} "
            f"bits/char over {len(kept)} characters"
        )
        print(format_comparison(comparison))
        print(format_held_out(report_part))
        if realism is not None:
            print(format_realism(realism))
        if unknown:
            print(
                f"note: skipped {report['skipped_unknown_chars']} characters unknown to the model",
                file=sys.stderr,
            )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    freeze_start_up_objects()
    args.argv = list(sys.argv[1:] if argv is None else argv)
    handlers = {"train": run_train, "generate": run_generate, "eval": run_eval, "mix": run_mix}
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
