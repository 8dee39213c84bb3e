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
from model.mixture import Mixture, ServingTables
from model.network import CharGenerator
from model.rng import gumbel_noise, new_seed, request_key
from model.vocab import SeedEncoding, Vocabulary

MAX_LENGTH = 10_000

# The defaults a reader gets: the bot's default settings, which `python -m model
# generate` and the realism figures use unless told otherwise. Chosen with the realism
# figures (docs/MODEL.md, "Model quality": `python -m benchmarks.sampling_grid`): the
# most varied setting whose samples keep non-words under 3 % (by two standard errors)
# with repetition near real text's. At 0.8 without a cut-off 6.0 % of the shipped
# model's words were non-words; at 1.0 with min-p 0.2, 1.4 %.
DEFAULT_TEMPERATURE = 1.0
DEFAULT_MIN_P = 0.2


@dataclass(frozen=True)
class Sample:
    seed: SeedEncoding
    continuation: str
    rng_seed: int

    @property
    def text(self) -> str:
        """The seed as the model saw it, followed by the continuation."""
        return self.seed.text + self.continuation


def check_params(temperature: float, length: int, top_k: int | None, min_p: float = 0.0) -> None:
    if not math.isfinite(temperature) or temperature <= 0:
        raise SamplingError(f"temperature must be a positive number, got {temperature}.")
    if not 0 <= length <= MAX_LENGTH:
        raise SamplingError(f"length must be between 0 and {MAX_LENGTH}, got {length}.")
    if top_k is not None and top_k < 0:
        raise SamplingError(f"top-k must be 0 (off) or a positive number, got {top_k}.")
    if not (math.isfinite(min_p) and 0.0 <= min_p < 1.0):
        raise SamplingError(f"min-p must be at least 0 (off) and below 1, got {min_p}.")


def log_min_p(min_p: float) -> float:
    """The min-p cut-off in log space: -inf (keep everything) when it is off."""
    return math.log(min_p) if min_p > 0 else -math.inf


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
    mixture: Mixture | None = None,
    min_p: float | None = None,
) -> Sample:
    """Sample ``length`` characters after ``seed``; same rng_seed, same device -> same text.

    With ``mixture`` each character is drawn from the LSTM mixed with the checkpoint's
    n-gram (:mod:`model.mixture`), as the engine does for such a checkpoint; ``min_p``
    (0 = off, None = :data:`DEFAULT_MIN_P`, as the engine) drops characters less likely
    than that share of the most likely one.
    """
    min_p = DEFAULT_MIN_P if min_p is None else min_p
    check_params(temperature, length, top_k, min_p)
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
    cut = None if min_p <= 0 else torch.full((rows, 1), log_min_p(min_p), device=device)
    tables = None if mixture is None else ServingTables(mixture, vocab, device)
    state = None
    if tables is not None:
        state = torch.full(
            (rows,), tables.start_state(encoded.ids), dtype=torch.long, device=device
        )
    out = torch.empty(length, dtype=torch.long, device=device)
    for t in range(length):
        logits = step.head()
        if tables is not None and state is not None:
            logits = tables.mix(logits, tables.share[state])
        nxt = choose(logits, inv_t, noise[t].expand(rows, -1), k, cut)
        out[t : t + 1] = nxt[:1]
        if t + 1 < length:
            step.advance(nxt)
            if tables is not None and state is not None:
                state = tables.next_state[state, nxt]
    return Sample(encoded, vocab.decode(out.tolist()), rng_seed)
