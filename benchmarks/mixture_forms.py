"""Other ways to mix the served LSTM with its n-gram, fitted on validation, reported on test.

    python -m benchmarks.mixture_forms [--checkpoint data/default-model.pt]
                                       [--corpus data/arabic_text.txt] [--json]

Without retraining the network, how much can the mixture itself gain? Every weight is
chosen on the validation part (the n-gram counted from the training part only); the test
part is only scored. Rows:

- ``linear``: ``w·p_lstm + (1 − w)·p_kn`` with the checkpoint's stored weight (the form
  served before the geometric one);
- ``linear per order``: one ``w`` per length of the n-gram context reached (a gather of
  ``w`` per row in the engine), each chosen on validation on the same grid;
- ``geometric``: ``p ∝ p_lstm^a · p_kn^b`` (a product of experts), ``a`` and ``b`` fitted
  by L-BFGS on validation. In the engine it would cost less than the linear mixture:
  ``a·logits + b·log p_kn[state]`` (``a`` folded into the output layer, ``b·log p_kn``
  one table), no softmax, since the sampler is blind to a constant per row;
- ``geometric, n-gram on train+validation``: the same ``a`` and ``b``, the n-gram then
  counted again from training and validation text (refitting on everything but the test
  part once the weights are chosen). The baseline n-grams below keep counting the
  training part only, so this row has seen more text than they have: it is shown, not
  claimed.

Next to them, the best Kneser-Ney n-gram on the test part (orders 3-7, the most generous
baseline, as ``python -m model eval``) and each row's margin below it.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import torch
import torch.nn.functional as F

from model.checkpoint import Checkpoint, load_checkpoint
from model.evaluation import NGRAM_ORDERS
from model.mixture import WEIGHT_GRID, ngram_text
from model.ngram import KneserNey, NgramTables
from model.shipped import SHIPPED_MODEL
from model.split import split_parts
from model.text import read_corpus

LN2 = math.log(2)
TINY = 1e-30  # floor under n-gram probabilities before a log (every row sums to 1)


class Part:
    """One held-out part: the LSTM's log-probabilities, the n-gram states and targets."""

    def __init__(self, checkpoint: Checkpoint, tables: NgramTables, text: str) -> None:
        vocab = checkpoint.vocab
        ids = [vocab.stoi[c] for c in text if c in vocab.stoi]
        seq = torch.tensor(ids, dtype=torch.long)
        with torch.inference_mode():
            logits, _ = checkpoint.model.eval()(seq[:-1].unsqueeze(0))
        self.lstm = F.log_softmax(logits[0].double(), dim=-1)
        self.target = seq[1:]
        self.states = walk(tables, ids)
        self.kept = "".join(c for c in text if c in vocab.stoi)


def walk(tables: NgramTables, ids: list[int]) -> torch.Tensor:
    """The n-gram state before each character of ``ids`` after the first."""
    nxt = tables.next_state.tolist()
    s, states = 0, []
    for c in ids:
        states.append(s)
        s = nxt[s][c]
    return torch.tensor(states[1:], dtype=torch.long)


def linear_bits(part: Part, dist: torch.Tensor, weight: torch.Tensor) -> float:
    """Bits/char of the linear mixture; ``weight`` is one per character, shape (N,)."""
    p_lstm = part.lstm.exp().gather(1, part.target[:, None]).squeeze(1)
    p_kn = dist[part.states, part.target]
    return float(-(weight * p_lstm + (1 - weight) * p_kn).log().mean()) / LN2


def geometric_loss(part: Part, log_dist: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> Any:
    z = a * part.lstm + b * log_dist[part.states]
    return -F.log_softmax(z, dim=-1).gather(1, part.target[:, None]).mean()


def fit_geometric(part: Part, log_dist: torch.Tensor, start: float) -> tuple[float, float]:
    a = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(1.0 - start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([a, b], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> Any:
        opt.zero_grad()
        loss = geometric_loss(part, log_dist, a, b)
        loss.backward()
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]
    return float(a.detach()), float(b.detach())


def measure(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(1)
    checkpoint = load_checkpoint(args.checkpoint, "cpu")
    mixture = checkpoint.mixture
    if mixture is None:
        raise SystemExit("the checkpoint has no n-gram mixture")
    config = checkpoint.train_config
    train_text, val_text, test_text = split_parts(
        read_corpus(args.corpus),
        float(config.get("val_fraction") or 0.1),
        float(config.get("test_fraction") or 0.0),
    )
    itos = checkpoint.vocab.itos
    tables = mixture.tables(checkpoint.vocab)
    dist = tables.dist.double()
    log_dist = dist.clamp_min(TINY).log()
    val, test = Part(checkpoint, tables, val_text), Part(checkpoint, tables, test_text)
    rows: dict[str, float] = {}
    params: dict[str, Any] = {}

    rows["linear, stored weight"] = linear_bits(test, dist, torch.full((1,), mixture.weight))
    lengths = torch.tensor([len(s) for s in tables.states])
    per_order = torch.full((mixture.order,), mixture.weight, dtype=torch.float64)
    grid = torch.tensor(WEIGHT_GRID, dtype=torch.float64)
    p_lstm = val.lstm.exp().gather(1, val.target[:, None]).squeeze(1)
    p_kn = dist[val.states, val.target]
    reached = lengths[val.states]
    for k in range(mixture.order):
        m = reached == k
        if m.any():
            losses = -(grid[:, None] * p_lstm[m] + (1 - grid[:, None]) * p_kn[m]).log().sum(1)
            per_order[k] = grid[int(losses.argmin())]
    rows["linear per order reached"] = linear_bits(test, dist, per_order[lengths[test.states]])
    params["per_order_weights"] = [round(float(w), 3) for w in per_order]

    a, b = fit_geometric(val, log_dist, mixture.weight)
    params["geometric"] = {"a": round(a, 4), "b": round(b, 4)}
    with torch.no_grad():
        ta, tb = torch.tensor(a), torch.tensor(b)
        rows["geometric"] = float(geometric_loss(test, log_dist, ta, tb)) / LN2
        more = NgramTables(KneserNey(ngram_text(train_text + val_text), mixture.order, itos), itos)
        wider = Part.__new__(Part)
        wider.lstm, wider.target = test.lstm, test.target
        vocab = checkpoint.vocab
        wider.states = walk(more, [vocab.stoi[c] for c in test.kept])
        log_more = more.dist.double().clamp_min(TINY).log()
        rows["geometric, n-gram on train+validation"] = (
            float(geometric_loss(wider, log_more, ta, tb)) / LN2
        )

    counted = ngram_text(train_text)
    alphabet = set(counted) | set(test.kept)
    ngrams = {
        n: KneserNey(counted, n, alphabet).cross_entropy(test.kept) / LN2 for n in NGRAM_ORDERS
    }
    best = min(ngrams, key=lambda n: (ngrams[n], n))
    return {
        "checkpoint": str(args.checkpoint),
        "test_chars": len(test.kept),
        "ngram_bits": ngrams,
        "best_ngram_order": best,
        "rows": {
            name: {"bits": bits, "below_best_ngram": ngrams[best] - bits}
            for name, bits in rows.items()
        },
        "params": params,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default=str(SHIPPED_MODEL))
    parser.add_argument("--corpus", default="data/arabic_text.txt")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return
    best = results["best_ngram_order"]
    print(
        f"test part, {results['test_chars']} characters; best Kneser-Ney: {best}-gram "
        f"{results['ngram_bits'][best]:.3f} bits/char"
    )
    for name, row in results["rows"].items():
        print(f"  {name:<42}{row['bits']:.3f}  ({row['below_best_ngram']:.3f} below)")
    print(f"fitted on validation: {results['params']}")


if __name__ == "__main__":
    main()
