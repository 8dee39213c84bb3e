"""Character n-gram baselines the project computes itself: interpolated Kneser-Ney.

Why: a validation loss means little without a yardstick. A network that cannot beat
counting characters has learnt nothing a table could not hold, and a report should say
so. The baseline is interpolated Kneser-Ney (Chen & Goodman 1998, one absolute
discount per order, ``D = n1 / (n1 + 2 n2)``):

    P_n(w | h) = max(c(hw) - D_n, 0) / c(h) + D_n * T(h) / c(h) * P_{n-1}(w | h')

where ``c`` is the raw count at the highest order and the continuation count
(the number of distinct characters seen before the n-gram) at lower orders, ``T(h)``
the number of distinct characters seen after ``h``, and ``h'`` is ``h`` without its
first character. An unseen context falls back to the lower order entirely. The lowest
order interpolates with the uniform distribution over the alphabet of the training
and the evaluated text, so a character never seen in training still has a
probability, as the unigram baseline gives it (add-one).

Evaluation reads the text as one stream and predicts each character after the first
(contexts shorter than ``n - 1`` at the start), like the network starting from a zero
state.
The order is chosen on the training part alone (its last 10 % held out), then the
model is refitted on the whole training part: the validation tail is never used to
choose. Pure Python over strings; large texts are capped (``MAX_TRAIN_CHARS``) so a
10 MB corpus costs seconds, not minutes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

ORDERS = (3, 4, 5, 6)
# The baseline on the last this-many training characters (the ones nearest the tail):
# beyond a few hundred thousand characters a 6-gram table gains little and costs a lot.
MAX_TRAIN_CHARS = 400_000
MAX_EVAL_CHARS = 50_000


def _discount(counts: Iterable[int]) -> float:
    n1 = n2 = 0
    for c in counts:
        if c == 1:
            n1 += 1
        elif c == 2:
            n2 += 1
    if n1 == 0:
        return 0.5
    return min(0.95, max(0.05, n1 / (n1 + 2 * n2)))


class KneserNey:
    """An interpolated Kneser-Ney character model of ``order`` fitted on ``train_text``."""

    def __init__(self, train_text: str, order: int, alphabet: Iterable[str] = ()) -> None:
        if order < 1:
            raise ValueError("order must be at least 1")
        if not train_text:
            raise ValueError("the training text is empty")
        self.order = order
        self.vocab_size = len(set(train_text) | set(alphabet))
        # counts[k][gram] for grams of length k (1..order)
        raw: dict[str, int] = defaultdict(int)
        for i in range(len(train_text) - order + 1):
            raw[train_text[i : i + order]] += 1
        self.counts: list[dict[str, int]] = [{} for _ in range(order + 1)]
        self.counts[order] = dict(raw)
        for k in range(order - 1, 0, -1):
            # continuation count of a k-gram: distinct characters seen before it, i.e.
            # the number of distinct (k+1)-grams ending with it (no per-gram sets: a
            # 400,000-character text stays within tens of megabytes)
            longer = (
                self.counts[k + 1].keys()
                if k + 1 == order
                else {train_text[i : i + k + 1] for i in range(len(train_text) - k)}
            )
            cont: dict[str, int] = defaultdict(int)
            for gram in longer:
                cont[gram[1:]] += 1
            self.counts[k] = dict(cont)
        self.discounts = [0.0] + [_discount(self.counts[k].values()) for k in range(1, order + 1)]
        # per context (length k-1): total count and number of distinct followers
        self.totals: list[dict[str, int]] = [{} for _ in range(order + 1)]
        self.types: list[dict[str, int]] = [{} for _ in range(order + 1)]
        for k in range(1, order + 1):
            totals: dict[str, int] = defaultdict(int)
            types: dict[str, int] = defaultdict(int)
            for gram, c in self.counts[k].items():
                totals[gram[:-1]] += c
                types[gram[:-1]] += 1
            self.totals[k], self.types[k] = dict(totals), dict(types)

    def prob(self, context: str, ch: str) -> float:
        """P(ch | context), using at most the last ``order - 1`` characters of context."""
        # max(0, ...): a context shorter than order - 1 (the start of a text) is used
        # whole; a negative start would keep only its last few characters.
        context = context[max(0, len(context) - self.order + 1) :] if self.order > 1 else ""
        p = 1.0 / max(1, self.vocab_size)
        for k in range(1, self.order + 1):
            if k - 1 > len(context):
                break
            h = context[len(context) - (k - 1) :] if k > 1 else ""
            total = self.totals[k].get(h, 0)
            if total == 0:
                continue  # unseen context: this order says nothing, keep the lower one
            d = self.discounts[k]
            c = self.counts[k].get(h + ch, 0)
            p = max(c - d, 0.0) / total + d * self.types[k][h] / total * p
        return p

    def cross_entropy(self, text: str) -> float:
        """Mean negative log-probability (nats/char) of ``text`` read as one stream.

        Like the network's evaluation, every character but the first is predicted (the
        first has no context there), so the two figures average over the same characters.
        """
        if len(text) < 2:
            raise ValueError("nothing to evaluate: at least 2 characters are needed")
        total = 0.0
        for i in range(1, len(text)):
            total -= math.log(self.prob(text[max(0, i - self.order + 1) : i], text[i]))
        return total / (len(text) - 1)


@dataclass(frozen=True)
class Baseline:
    order: int
    loss: float  # nats/char on the evaluated text

    @property
    def bits_per_char(self) -> float:
        return self.loss / math.log(2)


def best_ngram(train_text: str, val_text: str, orders: Iterable[int] = ORDERS) -> Baseline:
    """The Kneser-Ney baseline on ``val_text``, its order chosen on ``train_text`` alone."""
    train_text = train_text[-MAX_TRAIN_CHARS:]
    val_text = val_text[:MAX_EVAL_CHARS]
    alphabet = set(train_text) | set(val_text)
    cut = int(len(train_text) * 0.9)
    fit, dev = train_text[:cut], train_text[cut:]
    candidates = list(orders)
    if len(fit) >= 2 and len(dev) >= 2:
        scores = {n: KneserNey(fit, n, alphabet).cross_entropy(dev) for n in candidates}
        order = min(candidates, key=lambda n: (scores[n], n))
    else:
        order = min(candidates)
    return Baseline(order, KneserNey(train_text, order, alphabet).cross_entropy(val_text))


class NgramTables:
    """A :class:`KneserNey` model laid out for batched lookups over a vocabulary.

    Why: the serving engine mixes the n-gram's distribution into every row's step, and a
    dictionary lookup per row per character would cost more than the LSTM step itself.
    The model's distribution depends on the history only through its longest suffix (of
    at most ``order - 1`` characters) that is a context seen in training: that suffix is
    a *state*. Two dense tables then do everything with gathers:

    - ``dist[s]`` is the full distribution over the vocabulary after state ``s``
      (``KneserNey.prob`` for every character, computed once per state);
    - ``next_state[s, x]`` is the state after reading character ``x`` in state ``s``
      (the longest seen suffix of ``s + x``, found through suffix links as in
      Aho-Corasick).

    State 0 is the empty context (the start of a text). Characters of the vocabulary
    the n-gram never saw get the uniform share its lowest order gives them, so every
    row of ``dist`` sums to 1 over the vocabulary.
    """

    def __init__(self, kn: KneserNey, itos: list[str]) -> None:
        import torch  # here, so the baselines above stay usable without torch loaded

        self.order = kn.order
        self.itos = list(itos)
        index = {c: i for i, c in enumerate(self.itos)}
        vocab = len(self.itos)
        states: list[str] = [""]
        for k in range(2, kn.order + 1):
            states.extend(sorted(h for h, total in kn.totals[k].items() if total > 0))
        ids = {h: i for i, h in enumerate(states)}
        n = len(states)
        link = [0] * n
        for i, h in enumerate(states[1:], start=1):
            j = 1
            while h[j:] not in ids:  # "" always is, so this ends
                j += 1
            link[i] = ids[h[j:]]
        own = torch.zeros(n, vocab, dtype=torch.float64)
        backoff = torch.zeros(n, dtype=torch.float64)
        child = torch.full((n, vocab), -1, dtype=torch.long)
        for i, h in enumerate(states):
            k = len(h) + 1
            total = kn.totals[k].get(h, 0)
            if total:
                backoff[i] = kn.discounts[k] * kn.types[k][h] / total
        for k in range(1, kn.order + 1):
            d = kn.discounts[k]
            totals = kn.totals[k]
            for gram, count in kn.counts[k].items():
                col = index.get(gram[-1])
                if col is None:
                    continue  # a character the vocabulary lacks: no row asks for it
                s = ids[gram[:-1]]
                own[s, col] = max(count - d, 0.0) / totals[gram[:-1]]
                if gram in ids:
                    child[s, col] = ids[gram]
        lengths = torch.tensor([len(h) for h in states])
        links = torch.tensor(link)
        dist = torch.zeros(n, vocab, dtype=torch.float64)
        nxt = torch.zeros(n, vocab, dtype=torch.long)
        uniform = 1.0 / max(1, kn.vocab_size)
        dist[0] = own[0] + backoff[0] * uniform
        nxt[0] = torch.where(child[0] >= 0, child[0], 0)
        for length in range(1, kn.order):
            rows = (lengths == length).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            parents = links[rows]
            dist[rows] = own[rows] + backoff[rows].unsqueeze(1) * dist[parents]
            nxt[rows] = torch.where(child[rows] >= 0, child[rows], nxt[parents])
        self.states = states
        self.dist = dist.float()
        self.next_state = nxt
        self.num_states = n

    def to(self, device: object) -> NgramTables:
        """These tables on ``device`` (a new object; this one is left as it is)."""
        moved = object.__new__(NgramTables)
        moved.__dict__.update(self.__dict__)
        moved.dist = self.dist.to(device)  # type: ignore[call-overload]
        moved.next_state = self.next_state.to(device)  # type: ignore[call-overload]
        return moved

    def state_of(self, text: str) -> int:
        """The state after reading ``text`` from the start state."""
        s = 0
        for ch in text:
            col = self.itos.index(ch) if ch in self.itos else None
            if col is None:
                raise ValueError(f"{ch!r} is not in the vocabulary")
            s = int(self.next_state[s, col])
        return s
