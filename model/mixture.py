"""The LSTM mixed with a Kneser-Ney n-gram per character, in one of two forms:

- linear: ``p = w·p_lstm + (1 − w)·p_kn``;
- geometric (a product of experts): ``p ∝ p_lstm^a · p_kn^b``.

Why: the two make different mistakes. The n-gram remembers exact spellings of words it
has counted, the LSTM generalises across contexts; averaging their distributions
character by character beats either alone on held-out text (the n-gram keeps the LSTM
from inventing non-words, the LSTM keeps the n-gram from falling back to letter
frequencies in unseen contexts). The n-gram is counted from the model's own training
text, which the checkpoint keeps (a few hundred kilobytes at most), so whoever loads
the checkpoint rebuilds exactly the same tables. Its order, the form and its weights are
chosen on the validation part, never on a test part.

The geometric form lets either model veto a character the other likes (a product is
small where either factor is), which suits spelling: on the default corpus it is 0.012
bits/char better on the test part than the best linear weight, where a linear weight
per n-gram context order or per LSTM confidence gained nothing
(``python -m benchmarks.mixture_forms``). It is also cheaper to serve: the sampler is
blind to a constant per row, so a step needs only ``a·logits + b·log p_kn[state]`` (a
table gathered per row, one multiply and one add), no softmax.

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
LINEAR, GEOMETRIC = "linear", "geometric"
FORMS = (LINEAR, GEOMETRIC)
# The geometric exponents are fitted (L-BFGS) on full distributions over the vocabulary:
# on at most this many validation characters (both forms are then scored on them), so a
# 10 MB corpus's validation part costs tens of megabytes, not gigabytes.
MAX_FIT_CHARS = 100_000
MAX_EXPONENT = 4.0  # a loaded geometric exponent beyond this is a damaged checkpoint
# Floor under n-gram probabilities before their log (every one is positive already: the
# lowest order interpolates with the uniform distribution).
TINY = 1e-30


@dataclass
class Mixture:
    """What a checkpoint stores to mix its LSTM with an n-gram: the order, the form, the
    weights and the text the n-gram is counted from. ``weight`` is the LSTM's share
    (linear) or exponent ``a`` (geometric); ``ngram_exponent`` is ``b`` (geometric only).
    Checkpoints from before the geometric form load as linear."""

    order: int
    weight: float
    text: str
    validation_loss: float | None = None  # nats/char of the mixture on validation
    form: str = LINEAR
    ngram_exponent: float = 0.0
    _tables: dict[tuple[str, ...], NgramTables] = field(default_factory=dict, repr=False)

    def tables(self, vocab: Vocabulary) -> NgramTables:
        """The n-gram's lookup tables over ``vocab`` (built once, then cached)."""
        key = tuple(vocab.itos)
        tables = self._tables.get(key)
        if tables is None:
            kn = KneserNey(self.text, self.order, vocab.itos)
            tables = self._tables[key] = NgramTables(kn, vocab.itos)
        return tables

    def describe(self) -> str:
        """The mixture in a few words, for reports."""
        if self.form == GEOMETRIC:
            return f"LSTM^{self.weight:.3f} × {self.order}-gram^{self.ngram_exponent:.3f}"
        return f"LSTM x{self.weight} + {self.order}-gram"

    def to_payload(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "weight": self.weight,
            "text": self.text,
            "validation_loss": self.validation_loss,
            "form": self.form,
            "ngram_exponent": self.ngram_exponent,
        }

    @classmethod
    def from_payload(cls, data: object) -> Mixture | None:
        if data is None:
            return None
        try:
            assert isinstance(data, dict)
            order, weight, text = int(data["order"]), float(data["weight"]), str(data["text"])
            loss = data.get("validation_loss")
            form = str(data.get("form", LINEAR))
            exponent = float(data.get("ngram_exponent", 0.0))
            top = 1.0 if form == LINEAR else MAX_EXPONENT
            if not (
                1 <= order <= 12
                and form in FORMS
                and 0.0 <= weight <= top
                and 0.0 <= exponent <= MAX_EXPONENT
                and text
            ):
                raise ValueError("out of range")
        except Exception:
            raise CheckpointError("the checkpoint's n-gram mixture is damaged") from None
        return cls(order, weight, text, None if loss is None else float(loss), form, exponent)


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


@torch.inference_mode()
def lstm_log_probs(model: CharGenerator, ids: torch.Tensor, block: int = 1024) -> torch.Tensor:
    """log P_lstm over the vocabulary before each character of ``ids`` after the first,
    read as one stream: shape ``(len(ids) - 1, vocab)``, float64 on the CPU."""
    was_training = model.training
    model.eval()
    hidden = None
    out: list[torch.Tensor] = []
    inputs = ids[:-1].unsqueeze(0)
    for start in range(0, inputs.shape[1], block):
        logits, hidden = model(inputs[:, start : start + block], hidden)
        out.append(F.log_softmax(logits[0].double(), dim=-1).cpu())
    model.train(was_training)
    return torch.cat(out)


def ngram_states(tables: NgramTables, ids: list[int]) -> torch.Tensor:
    """The n-gram state before each character of ``ids`` after the first."""
    nxt = tables.next_state.tolist()
    states = [0] * len(ids)
    s = 0
    for i, c in enumerate(ids):
        states[i] = s
        s = nxt[s][c]
    return torch.tensor(states[1:], dtype=torch.long)


def geometric_loss(
    lstm_logp: torch.Tensor,
    ngram_logp: torch.Tensor,
    targets: torch.Tensor,
    a: float | torch.Tensor,
    b: float | torch.Tensor,
) -> torch.Tensor:
    """Mean negative log-probability (nats/char) of ``p ∝ p_lstm^a · p_kn^b``; the
    log-distributions are ``(N, vocab)``, ``targets`` ``(N,)``."""
    z = a * lstm_logp + b * ngram_logp
    return -F.log_softmax(z, dim=-1).gather(1, targets.unsqueeze(1)).mean()


def fit_geometric(
    lstm_logp: torch.Tensor, ngram_logp: torch.Tensor, targets: torch.Tensor
) -> tuple[float, float, float]:
    """The exponents ``(a, b)`` with the lowest geometric loss, and that loss (L-BFGS from
    ``a = 0.7, b = 0.3``; clamped to ``[0, MAX_EXPONENT]``)."""
    with torch.enable_grad(), torch.inference_mode(False):
        a = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        lstm_logp, ngram_logp = lstm_logp.clone(), ngram_logp.clone()
        opt = torch.optim.LBFGS([a, b], max_iter=100, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = geometric_loss(lstm_logp, ngram_logp, targets, a, b)
            loss.backward()  # type: ignore[no-untyped-call]
            return loss

        opt.step(closure)  # type: ignore[no-untyped-call]
        ea = min(MAX_EXPONENT, max(0.0, float(a.detach())))
        eb = min(MAX_EXPONENT, max(0.0, float(b.detach())))
    with torch.no_grad():
        return ea, eb, float(geometric_loss(lstm_logp, ngram_logp, targets, ea, eb))


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
    """The n-gram order, form and weights with the lowest loss on ``val_text`` (its first
    :data:`MAX_FIT_CHARS` characters).

    Only the training part is counted and only the validation part is scored: whatever
    comes after them (a test part) plays no role. Ties go to the linear form.
    """
    kept = [vocab.stoi[c] for c in val_text if c in vocab.stoi][: MAX_FIT_CHARS + 1]
    if len(kept) < 2:
        raise ValueError("the validation part has fewer than 2 known characters")
    device = model.embed.weight.device
    lstm_logp = lstm_log_probs(model, torch.tensor(kept, dtype=torch.long, device=device))
    targets = torch.tensor(kept[1:], dtype=torch.long)
    p_lstm = lstm_logp.gather(1, targets.unsqueeze(1)).squeeze(1).exp()
    counted = ngram_text(train_text)
    best: Mixture | None = None
    for order in orders:
        kn = KneserNey(counted, order, vocab.itos)
        states = 1 + sum(len(kn.totals[k]) for k in range(2, order + 1))
        if best is not None and states * len(vocab) > MAX_TABLE_ENTRIES:
            continue
        tables = NgramTables(kn, vocab.itos)
        weight, loss = best_weight(p_lstm, ngram_target_probs(tables, kept))
        candidates = [Mixture(order, weight, counted, loss)]
        ngram_logp = tables.dist.double().clamp_min(TINY).log()[ngram_states(tables, kept)]
        a, b, geo_loss = fit_geometric(lstm_logp, ngram_logp, targets)
        candidates.append(Mixture(order, a, counted, geo_loss, GEOMETRIC, b))
        for candidate in candidates:
            assert candidate.validation_loss is not None
            if (
                best is None
                or best.validation_loss is None
                or candidate.validation_loss < best.validation_loss
            ):
                best = candidate
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


def geometric_scores(
    logits: torch.Tensor, ngram_share: torch.Tensor, weight: float, out: torch.Tensor | None = None
) -> torch.Tensor:
    """``a·logits + b·log p_kn`` row by row (shapes ``(B, V)``), where ``ngram_share`` is
    the n-gram's log-distribution already multiplied by ``b`` (:meth:`ServingTables.share`)
    and ``weight`` is ``a``: the geometric mixture's log-probabilities up to a constant
    per row, which temperature, min-p and the Gumbel draw ignore. Two element-wise
    operations, so a row gets the same bits whatever else is in the batch."""
    return torch.mul(logits, weight, out=out).add_(ngram_share)


class ServingTables:
    """A mixture ready for sampling on one device: the state table, and per state the
    n-gram's part of the step (one operation less per step): its distribution times its
    share ``1 − w`` (linear), or its log-distribution times ``b`` (geometric)."""

    def __init__(self, mixture: Mixture, vocab: Vocabulary, device: torch.device) -> None:
        tables = mixture.tables(vocab)
        self.weight = mixture.weight
        self.order = mixture.order
        self.form = mixture.form
        if mixture.form == GEOMETRIC:
            logp = tables.dist.double().clamp_min(TINY).log()
            self.share = (logp * mixture.ngram_exponent).float().to(device)
        else:
            self.share = (tables.dist * (1.0 - mixture.weight)).to(device)
        self.next_state = tables.next_state.to(device)

    def mix(
        self, logits: torch.Tensor, share: torch.Tensor, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The mixture's log-probabilities (up to a constant per row, geometric) from the
        LSTM's ``logits`` and the rows' ``share`` (rows of :attr:`share`)."""
        if self.form == GEOMETRIC:
            return geometric_scores(logits, share, self.weight, out)
        return mixed_log_probs(logits, share, self.weight, out)

    def start_state(self, ids: Iterable[int]) -> int:
        s = 0
        for c in ids:
            s = int(self.next_state[s, c])
        return s


def log_bits(nats: float) -> float:
    return nats / math.log(2)
