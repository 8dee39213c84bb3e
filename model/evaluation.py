"""A model against its yardsticks on one split of one text (``python -m model eval``).

The figures all come from the same validation tail (the last ``val_fraction`` of the
text, the part training never saw) and, for the baselines, the same training head:

- the network read as one continuous stream, its LSTM state carried from character to
  character, which is how the bot generates;
- the network over consecutive ``seq_len`` windows, each from a zero state (the figure
  training used to report);
- the unigram baseline (add-one character frequencies of the head);
- the interpolated Kneser-Ney character n-gram, its order (3-6) chosen on the head.

Characters of the tail the model does not know are left out of every figure (and
counted), so the four average over the same characters.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from model.errors import CorpusError
from model.mixture import (
    GEOMETRIC,
    TINY,
    Mixture,
    geometric_loss,
    lstm_log_probs,
    lstm_target_probs,
    mixture_loss,
    ngram_states,
    ngram_target_probs,
)
from model.network import CharGenerator
from model.ngram import MAX_TRAIN_CHARS, KneserNey, best_ngram
from model.scoring import evaluate, evaluate_stream, unigram_loss
from model.split import split_parts
from model.vocab import Vocabulary

LN2 = math.log(2)


@dataclass(frozen=True)
class Comparison:
    val_chars: int
    skipped_unknown: int
    stream: float  # nats/char
    window: float
    unigram: float
    ngram: float
    ngram_order: int

    def bits(self) -> dict[str, float]:
        return {
            "stream": self.stream / LN2,
            "window": self.window / LN2,
            "unigram": self.unigram / LN2,
            "ngram": self.ngram / LN2,
        }

    @property
    def beats_ngram(self) -> bool:
        return self.stream < self.ngram

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "bits_per_char": self.bits(), "beats_ngram": self.beats_ngram}


def compare(
    model: CharGenerator,
    vocab: Vocabulary,
    text: str,
    val_fraction: float,
    seq_len: int,
    test_fraction: float = 0.0,
) -> Comparison:
    """The figures on the validation part (before any test part)."""
    head, tail, _ = split_parts(text, val_fraction, test_fraction)
    kept = "".join(c for c in tail if c in vocab)
    if len(kept) < 2 or not head:
        raise CorpusError(
            "the text's validation tail has fewer than 2 characters the model knows; "
            "nothing to compare on."
        )
    device = model.embed.weight.device
    ids = torch.tensor(vocab.encode(kept), dtype=torch.long, device=device)
    baseline = best_ngram(head, kept)
    return Comparison(
        val_chars=len(kept),
        skipped_unknown=len(tail) - len(kept),
        stream=evaluate_stream(model, ids),
        window=evaluate(model, ids, seq_len),
        unigram=unigram_loss(head, kept),
        ngram=baseline.loss,
        ngram_order=baseline.order,
    )


def format_comparison(c: Comparison) -> str:
    b = c.bits()
    verdict = (
        f"{b['ngram'] - b['stream']:.3f} bits/char below the n-gram baseline"
        if c.beats_ngram
        else f"NOT below the n-gram baseline ({b['stream'] - b['ngram']:.3f} bits/char above it)"
    )
    rows = [
        ("model, one continuous stream", b["stream"]),
        ("model, windows", b["window"]),
        (f"Kneser-Ney {c.ngram_order}-gram baseline", b["ngram"]),
        ("unigram baseline", b["unigram"]),
    ]
    table = "".join(f"  {label:<30}{value:.3f}\n" for label, value in rows)
    return f"validation tail, {c.val_chars} characters (bits/char):\n{table}the model is {verdict}"


NGRAM_ORDERS = (3, 4, 5, 6, 7)


@dataclass(frozen=True)
class HeldOut:
    """A checkpoint on the held-out part that reports are made on: the test part when
    the checkpoint was trained with one, else the validation tail (and it says which)."""

    part: str  # "test" or "validation"
    chars: int
    skipped_unknown: int
    stream: float  # nats/char, the LSTM read as one stream
    mixture: float | None  # the LSTM mixed with its n-gram, as served
    mixture_order: int | None
    mixture_weight: float | None
    ngram: dict[int, float]  # Kneser-Ney of each order, from the training part
    mixture_label: str | None = None  # Mixture.describe()

    @property
    def served(self) -> float:
        return self.stream if self.mixture is None else self.mixture

    @property
    def best_ngram_order(self) -> int:
        return min(self.ngram, key=lambda n: (self.ngram[n], n))

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "ngram": {str(k): v for k, v in self.ngram.items()},
            "bits_per_char": {
                "stream": self.stream / LN2,
                "mixture": None if self.mixture is None else self.mixture / LN2,
                "served": self.served / LN2,
                "ngram": {str(k): v / LN2 for k, v in self.ngram.items()},
            },
            "best_ngram_order": self.best_ngram_order,
            "served_below_best_ngram": (self.ngram[self.best_ngram_order] - self.served) / LN2,
        }


def held_out(
    model: CharGenerator,
    vocab: Vocabulary,
    mixture: Mixture | None,
    text: str,
    val_fraction: float,
    test_fraction: float,
    orders: tuple[int, ...] = NGRAM_ORDERS,
) -> HeldOut:
    """The figures on the test part (or the validation tail without one). Every n-gram
    is counted from the training part only; the best order is the one best *on this
    part*, the most generous baseline there is, since nothing is chosen with it."""
    train_text, val_text, test_text = split_parts(text, val_fraction, test_fraction)
    part, name = (test_text, "test") if test_fraction > 0 else (val_text, "validation")
    kept = "".join(c for c in part if c in vocab)
    if len(kept) < 2:
        raise CorpusError("the held-out part has fewer than 2 characters the model knows.")
    device = model.embed.weight.device
    ids = vocab.encode(kept)
    stream = evaluate_stream(model, torch.tensor(ids, dtype=torch.long, device=device))
    mixed = None
    if mixture is not None and mixture.form == GEOMETRIC:
        tables = mixture.tables(vocab)
        lstm_logp = lstm_log_probs(model, torch.tensor(ids, dtype=torch.long, device=device))
        ngram_logp = tables.dist.double().clamp_min(TINY).log()[ngram_states(tables, ids)]
        targets = torch.tensor(ids[1:], dtype=torch.long)
        mixed = float(
            geometric_loss(lstm_logp, ngram_logp, targets, mixture.weight, mixture.ngram_exponent)
        )
    elif mixture is not None:
        p_lstm = lstm_target_probs(model, torch.tensor(ids, dtype=torch.long, device=device))
        mixed = mixture_loss(p_lstm, ngram_target_probs(mixture.tables(vocab), ids), mixture.weight)
    counted = train_text[-MAX_TRAIN_CHARS:]
    alphabet = set(counted) | set(kept)
    ngram = {n: KneserNey(counted, n, alphabet).cross_entropy(kept) for n in orders}
    return HeldOut(
        part=name,
        chars=len(kept),
        skipped_unknown=len(part) - len(kept),
        stream=stream,
        mixture=mixed,
        mixture_order=None if mixture is None else mixture.order,
        mixture_weight=None if mixture is None else mixture.weight,
        ngram=ngram,
        mixture_label=None if mixture is None else mixture.describe(),
    )


def format_held_out(h: HeldOut) -> str:
    rows = [("LSTM alone, one continuous stream", h.stream)]
    if h.mixture is not None:
        label = h.mixture_label or f"LSTM x{h.mixture_weight} + {h.mixture_order}-gram"
        rows.append((f"served: {label}", h.mixture))
    rows += [(f"Kneser-Ney {n}-gram", loss) for n, loss in sorted(h.ngram.items())]
    table = "".join(f"  {label:<42}{value / LN2:.3f}\n" for label, value in rows)
    best = h.best_ngram_order
    margin = (h.ngram[best] - h.served) / LN2
    verdict = (
        f"{margin:.3f} bits/char below the best n-gram ({best}-gram)"
        if margin > 0
        else f"NOT below the best n-gram ({best}-gram): {-margin:.3f} bits/char above it"
    )
    return f"{h.part} part, {h.chars} characters (bits/char):\n{table}the served model is {verdict}"
