"""Continue a seed with a trained model: the whole seed primes the LSTM state first.

The step is :class:`model.inference.StepWeights`, the one the engine batches, so a fixed
``rng_seed`` gives the same text here as from the engine, alone or among other requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from model.errors import SamplingError
from model.inference import BoundStep, StepWeights, choose
from model.network import CharGenerator
from model.rng import gumbel_noise, new_seed, request_key
from model.vocab import SeedEncoding, Vocabulary

MAX_LENGTH = 10_000


@dataclass(frozen=True)
class Sample:
    seed: SeedEncoding
    continuation: str
    rng_seed: int

    @property
    def text(self) -> str:
        """The seed as the model saw it, followed by the continuation."""
        return self.seed.text + self.continuation


def check_params(temperature: float, length: int, top_k: int | None) -> None:
    if not math.isfinite(temperature) or temperature <= 0:
        raise SamplingError(f"temperature must be a positive number, got {temperature}.")
    if not 0 <= length <= MAX_LENGTH:
        raise SamplingError(f"length must be between 0 and {MAX_LENGTH}, got {length}.")
    if top_k is not None and top_k < 0:
        raise SamplingError(f"top-k must be 0 (off) or a positive number, got {top_k}.")


@torch.inference_mode()
def prime(weights: StepWeights, ids: list[int]) -> BoundStep:
    """Feed the whole seed through the LSTM from a zero state; returns the primed step.

    The state has ``weights.padded_rows(1)`` rows: row 0 is the seed's, the rest padding.
    """
    rows = weights.padded_rows(1)
    step = weights.bind(*weights.zero_state(rows))
    seq = torch.tensor(ids, dtype=torch.long, device=weights.device).unsqueeze(1)
    seq = seq.expand(len(ids), rows)
    for t in range(len(ids)):
        step.head()  # the product also holds the recurrent term advance() needs
        step.advance(seq[t])
    return step


@torch.inference_mode()
def sample(
    model: CharGenerator,
    vocab: Vocabulary,
    seed: str,
    length: int = 300,
    temperature: float = 1.0,
    top_k: int | None = None,
    rng_seed: int | None = None,
) -> Sample:
    """Sample ``length`` characters after ``seed``; same rng_seed, same device -> same text."""
    check_params(temperature, length, top_k)
    encoded = vocab.encode_seed(seed)
    rng_seed = new_seed() if rng_seed is None else rng_seed
    if length == 0:
        return Sample(encoded, "", rng_seed)
    model.eval()
    weights = StepWeights(model)
    device = weights.device
    step = prime(weights, encoded.ids)
    rows = step.h.shape[1]
    key = request_key(rng_seed, device)
    noise = gumbel_noise(key, torch.arange(length, device=device), len(vocab))
    inv_t = torch.full((rows, 1), 1.0 / temperature, device=device)
    k = None if not top_k else torch.full((rows,), top_k, dtype=torch.long, device=device)
    out = torch.empty(length, dtype=torch.long, device=device)
    for t in range(length):
        nxt = choose(step.head(), inv_t, noise[t].expand(rows, -1), k)
        out[t : t + 1] = nxt[:1]
        if t + 1 < length:
            step.advance(nxt)
    return Sample(encoded, vocab.decode(out.tolist()), rng_seed)
