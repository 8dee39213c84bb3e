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
from model.network import CharGenerator
from model.ngram import best_ngram
from model.train import evaluate, evaluate_stream, split_text, unigram_loss
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
    model: CharGenerator, vocab: Vocabulary, text: str, val_fraction: float, seq_len: int
) -> Comparison:
    head, tail = split_text(text, val_fraction)
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
