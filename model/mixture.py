"""The LSTM mixed with a Kneser-Ney n-gram per character: ``p = w·p_lstm + (1 − w)·p_kn``.

Why: the two make different mistakes. The n-gram remembers exact spellings of words it
has counted, the LSTM generalises across contexts; averaging their distributions
character by character beats either alone on held-out text (the n-gram keeps the LSTM
from inventing non-words, the LSTM keeps the n-gram from falling back to letter
frequencies in unseen contexts). The n-gram is counted from the model's own training
text, which the checkpoint keeps (a few hundred kilobytes at most), so whoever loads
the checkpoint rebuilds exactly the same tables. Its order and the weight ``w`` are
chosen on the validation part, never on a test part.

Temperature applies to the mixture: the sampler draws from ``p^(1/T)`` renormalised.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from model.errors import CheckpointError
from model.network import CharGenerator
from model.ngram import MAX_TRAIN_CHARS, KneserNey, NgramTables
from model.vocab import Vocabulary

MIXTURE_ORDERS = (3, 4, 5, 6, 7)
# The serving tables hold (states x vocabulary) probabilities and next states; orders
# whose tables would pass this many entries are not tried (memory in every process that
# serves the model: 8 M entries are ~100 MB).
MAX_TABLE_ENTRIES = 8_000_000
# Weights tried for the LSTM's share; 1.0 (the LSTM alone) is always a candidate, so a
# mixture is only used where it helps on validation.
WEIGHT_GRID = tuple(round(0.025 * i, 3) for i in range(41))  # 0 .. 1


@dataclass
class Mixture:
    """What a checkpoint stores to mix its LSTM with an n-gram: the order, the LSTM's
    weight, and the text the n-gram is counted from."""

    order: int
    weight: float
    text: str
    validation_loss: float | None = None  # nats/char of the mixture on validation
    _tables: dict[tuple[str, ...], NgramTables] = field(default_factory=dict, repr=False)

    def tables(self, vocab: Vocabulary) -> NgramTables:
        """The n-gram's lookup tables over ``vocab`` (built once, then cached)."""
        key = tuple(vocab.itos)
        tables = self._tables.get(key)
        if tables is None:
            kn = KneserNey(self.text, self.order, vocab.itos)
            tables = self._tables[key] = NgramTables(kn, vocab.itos)
        return tables

    def to_payload(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "weight": self.weight,
            "text": self.text,
            "validation_loss": self.validation_loss,
        }

    @classmethod
    def from_payload(cls, data: object) -> Mixture | None:
        if data is None:
            return None
        try:
            assert isinstance(data, dict)
            order, weight, text = int(data["order"]), float(data["weight"]), str(data["text"])
            loss = data.get("validation_loss")
            if not (1 <= order <= 12 and 0.0 <= weight <= 1.0 and text):
                raise ValueError("out of range")
        except Exception:
            raise CheckpointError("the checkpoint's n-gram mixture is damaged") from None
        return cls(order, weight, text, None if loss is None else float(loss))


@torch.inference_mode()
def lstm_target_probs(model: CharGenerator, ids: torch.Tensor, block: int = 1024) -> torch.Tensor:
    """P_lstm of each character of ``ids`` after the first, read as one stream (float64)."""
    was_training = model.training
    model.eval()
    hidden = None
    out: list[torch.Tensor] = []
    inputs, targets = ids[:-1].unsqueeze(0), ids[1:].unsqueeze(0)
    for start in range(0, inputs.shape[1], block):
        logits, hidden = model(inputs[:, start : start + block], hidden)
        logp = F.log_softmax(logits.double(), dim=-1)
        out.append(logp.gather(-1, targets[:, start : start + block].unsqueeze(-1)).view(-1))
    model.train(was_training)
    return torch.cat(out).exp().cpu()


def ngram_target_probs(tables: NgramTables, ids: list[int]) -> torch.Tensor:
    """P_kn of each character of ``ids`` after the first, from the start state (float64)."""
    nxt = tables.next_state.tolist()
    states = [0] * len(ids)
    s = 0
    for i, c in enumerate(ids):
        states[i] = s
        s = nxt[s][c]
    rows = torch.tensor(states[1:], dtype=torch.long)
    cols = torch.tensor(ids[1:], dtype=torch.long)
    return tables.dist.cpu()[rows, cols].double()


def mixture_loss(p_lstm: torch.Tensor, p_kn: torch.Tensor, weight: float) -> float:
    """Mean negative log-probability (nats/char) of the mixture with LSTM share ``weight``."""
    return float(-(weight * p_lstm + (1.0 - weight) * p_kn).log().mean())


def best_weight(
    p_lstm: torch.Tensor, p_kn: torch.Tensor, grid: Iterable[float] = WEIGHT_GRID
) -> tuple[float, float]:
    """The grid weight with the lowest loss, and that loss (ties: the larger weight)."""
    scores = {w: mixture_loss(p_lstm, p_kn, w) for w in grid}
    weight = min(scores, key=lambda w: (scores[w], -w))
    return weight, scores[weight]


def ngram_text(train_text: str) -> str:
    """The part of the training text the n-gram counts (the end nearest the held-out parts)."""
    return train_text[-MAX_TRAIN_CHARS:]


def fit_mixture(
    model: CharGenerator,
    vocab: Vocabulary,
    train_text: str,
    val_text: str,
    orders: Iterable[int] = MIXTURE_ORDERS,
) -> Mixture:
    """The n-gram order and LSTM weight with the lowest loss on ``val_text``.

    Only the training part is counted and only the validation part is scored: whatever
    comes after them (a test part) plays no role.
    """
    kept = [vocab.stoi[c] for c in val_text if c in vocab.stoi]
    if len(kept) < 2:
        raise ValueError("the validation part has fewer than 2 known characters")
    device = model.embed.weight.device
    p_lstm = lstm_target_probs(model, torch.tensor(kept, dtype=torch.long, device=device))
    counted = ngram_text(train_text)
    best: Mixture | None = None
    for order in orders:
        kn = KneserNey(counted, order, vocab.itos)
        states = 1 + sum(len(kn.totals[k]) for k in range(2, order + 1))
        if best is not None and states * len(vocab) > MAX_TABLE_ENTRIES:
            continue
        tables = NgramTables(kn, vocab.itos)
        weight, loss = best_weight(p_lstm, ngram_target_probs(tables, kept))
        if best is None or best.validation_loss is None or loss < best.validation_loss:
            best = Mixture(order, weight, counted, loss)
            best._tables[tuple(vocab.itos)] = tables
    assert best is not None
    return best


def mixed_log_probs(
    logits: torch.Tensor, ngram_share: torch.Tensor, weight: float, out: torch.Tensor | None = None
) -> torch.Tensor:
    """``log(w·softmax(logits) + ngram_share)`` row by row (shapes ``(B, V)``), where
    ``ngram_share`` is the n-gram's distribution already multiplied by ``1 − w``
    (:meth:`ServingTables.share`).

    Only row-wise reductions and separate element-wise operations (no fused
    multiply-add, whose rounding differs between vectorised and scalar code), so a row
    gets the same bits whatever else is in the batch (the tests check it).
    """
    top = logits.amax(dim=-1, keepdim=True)
    e = torch.sub(logits, top, out=out).exp_()
    scale = torch.reciprocal(e.sum(dim=-1, keepdim=True)).mul_(weight)
    return e.mul_(scale).add_(ngram_share).log_()


class ServingTables:
    """A mixture ready for sampling on one device: the state table, and the n-gram's
    distribution pre-multiplied by its share ``1 − w`` (one operation less per step)."""

    def __init__(self, mixture: Mixture, vocab: Vocabulary, device: torch.device) -> None:
        tables = mixture.tables(vocab)
        self.weight = mixture.weight
        self.order = mixture.order
        self.share = (tables.dist * (1.0 - mixture.weight)).to(device)
        self.next_state = tables.next_state.to(device)

    def start_state(self, ids: Iterable[int]) -> int:
        s = 0
        for c in ids:
            s = int(self.next_state[s, c])
        return s


def log_bits(nats: float) -> float:
    return nats / math.log(2)
