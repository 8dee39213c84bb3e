"""The reference sampling loop, written out as the original did it, for comparison only.

One forward call per character through ``nn.Embedding``/``nn.LSTM``/``nn.Linear``,
``torch.multinomial`` on the softmax, and a ``.item()`` host sync per character. It also
keeps the reference's bug of priming with the seed's last character only: that is what
the original timed, so the ratio compares like with like on the sampling loop itself.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from model.network import CharGenerator
from model.vocab import Vocabulary


@torch.no_grad()
def reference_generate(
    model: CharGenerator, vocab: Vocabulary, seed: str, length: int, temperature: float
) -> str:
    device = next(model.parameters()).device
    x = torch.tensor([[vocab.stoi[seed[-1]]]], device=device)
    hidden = None
    out = []
    for _ in range(length):
        logits, hidden = model(x, hidden)
        probs = torch.softmax(logits[:, -1, :] / temperature, dim=-1)
        idx = torch.multinomial(probs, 1).item()
        out.append(vocab.itos[idx])
        x = torch.tensor([[idx]], device=device)
    return seed + "".join(out)


def best_of(fn: Callable[[], object], repeats: int, warmup: int = 2) -> tuple[float, float]:
    """(median, min) seconds of ``fn`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)
