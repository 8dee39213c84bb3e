"""Continue a seed with a trained model: the whole seed primes the LSTM state first."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from model.errors import SamplingError
from model.inference import StepWeights, choose
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
def prime(model: CharGenerator, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the whole seed through the LSTM; returns the last logits (1, V) and (h, c)."""
    device = model.embed.weight.device
    x = torch.tensor([ids], dtype=torch.long, device=device)
    logits, (h, c) = model(x)
    return logits[:, -1, :], h, c


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
    model.eval()
    weights = StepWeights(model)
    device = weights.device
    logits, h, c = prime(model, encoded.ids)
    if length == 0:
        return Sample(encoded, "", rng_seed)
    key = request_key(rng_seed, device)
    noise = gumbel_noise(key, torch.arange(length, device=device), len(vocab))
    inv_t = torch.full((1, 1), 1.0 / temperature, device=device)
    k = None if not top_k else torch.tensor([top_k], device=device)
    out = torch.empty(length, dtype=torch.long, device=device)
    for t in range(length):
        nxt = choose(logits, inv_t, noise[t : t + 1], k)
        out[t : t + 1] = nxt
        if t + 1 < length:
            logits, h, c = weights.step(nxt, h, c)
    return Sample(encoded, vocab.decode(out.tolist()), rng_seed)
