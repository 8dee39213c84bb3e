"""The preallocated device tensors that hold the running rows of one model version.

Every running request is a row of these buffers (LSTM state, inverse temperature,
top-k, min-p, n-gram state, RNG key, seed, output ring); :class:`GroupBuffers` allocates
them once per group, hands out views of the first rows (made once per row count), grows
the seed buffer when a longer seed joins, writes the drawn ids into the output ring, and
keeps the eager step's noise hashed a chunk of steps ahead (:class:`NoiseHasher`). On
CUDA the rows are padded up to a CUDA graph bucket and the noise is hashed inside the
graph instead.

:class:`model.engine.batch.Group` builds on these buffers: rows joining and leaving, and
the step.
"""

from __future__ import annotations

from typing import Any

import torch

from model.engine.noise import NoiseHasher
from model.engine.requests import LoadedModel, Request
from model.sample import MAX_LENGTH

CUDA_GRAPH_BUCKETS = (1, 8, 32, 128, 256)
NOISE_CHUNK = 32  # steps of noise hashed at once on the eager path
NOISE_CHUNK_ELEMENTS = 1 << 20  # cap on the noise buffers (rows * chunk * vocab)


def graphs_available(device: torch.device) -> bool:
    return device.type == "cuda"


class Views:
    """The first ``rows`` rows of a group's buffers (views made once per row count)."""

    def __init__(self, group: GroupBuffers, rows: int) -> None:
        self.h = group.h[:, :rows]
        self.c = group.c[:, :rows]
        self.inv_t = group.inv_t[:rows]
        self.top_k = group.top_k[:rows]
        self.log_min_p = group.log_min_p[:rows]
        self.ngram_state = group.ngram_state[:rows]
        self.ngram_share = group.ngram_share[:rows]
        self.keys = group.keys[:rows]
        self.admit = group.admit[:rows]
        self.gen0 = group.gen0[:rows]
        self.seeds = group.seeds[:rows]
        self.hist = group.hist[:rows]
        self.noise = group.noise[:rows]
        self.noise_cols = list(self.noise.unbind(1))
        self.step = group.model.weights.bind(self.h, self.c)


class GroupBuffers:
    """The device tensors of every running row of one model version (see the module
    docstring); :class:`model.engine.batch.Group` puts rows in and steps them."""

    def __init__(self, model: LoadedModel, max_batch: int, use_cuda_graphs: bool) -> None:
        self.model = model
        w = model.weights
        dev = self.device = w.device
        self.vocab_size = w.vocab_size
        self.use_graphs = use_cuda_graphs and graphs_available(dev)
        if self.use_graphs:
            sizes = {w.padded_rows(b) for b in CUDA_GRAPH_BUCKETS if b < max_batch}
            self.buckets = sorted(sizes | {w.padded_rows(max_batch)})
            capacity = self.buckets[-1]
        else:
            self.buckets = []
            capacity = w.padded_rows(max_batch)
        self.capacity = capacity
        self.h, self.c = w.zero_state(capacity)
        self.inv_t = torch.zeros(capacity, 1, device=dev)
        self.top_k = torch.zeros(capacity, dtype=torch.long, device=dev)
        self.log_min_p = torch.full((capacity, 1), float("-inf"), device=dev)
        # The mixed-in n-gram: each row's state, and a buffer for its distributions.
        self.tables = model.tables
        self.ngram_state = torch.zeros(capacity, dtype=torch.long, device=dev)
        self.ngram_share = torch.zeros(
            capacity if self.tables is not None else 0, self.vocab_size, device=dev
        )
        self.next_state_flat = (
            self.tables.next_state.reshape(-1) if self.tables is not None else None
        )
        self.keys = torch.zeros(capacity, dtype=torch.long, device=dev)
        self.admit = torch.zeros(capacity, dtype=torch.long, device=dev)  # step it joined
        self.gen0 = torch.zeros(capacity, dtype=torch.long, device=dev)  # step of 1st draw
        self.seed_cols = 0
        self.seeds = torch.zeros(capacity, 0, dtype=torch.int32, device=dev)
        self.hist_cols = MAX_LENGTH  # ring of drawn ids, indexed by step
        self.hist = torch.zeros(capacity, self.hist_cols, dtype=torch.int32, device=dev)
        self.rows: list[Request] = []
        self._views: dict[int, Views] = {}
        self.padded = 0  # rows the eager step runs on
        self._draws: list[torch.Tensor] = []  # ids drawn since the last flush to ``hist``
        self._draws_from = 0  # the step of the first of them
        self.step_no = 0  # steps taken by this group
        self.finish_at: dict[int, list[Request]] = {}
        self.prime_until = 0  # no row primes from this step on
        self.n_top_k = 0
        self.n_min_p = 0
        # CUDA graphs, one per bucket; the step counter lives on the device for them.
        self.graphs: dict[int, Any] = {}
        self.graphs_broken = False
        self.step_dev = torch.zeros((), dtype=torch.long, device=dev)
        self.step_dev_value = 0
        self._pool: Any = None
        self._noise_buffer(eager=not self.use_graphs)

    def __len__(self) -> int:
        return len(self.rows)

    def views(self, rows: int) -> Views:
        v = self._views.get(rows)
        if v is None:
            v = self._views[rows] = Views(self, rows)
        return v

    def _grow_seeds(self, cols: int) -> None:
        new_cols = max(64, 1 << (cols - 1).bit_length())
        seeds = torch.zeros(self.capacity, new_cols, dtype=torch.int32, device=self.device)
        seeds[:, : self.seed_cols] = self.seeds
        self.seeds, self.seed_cols = seeds, new_cols
        self._views.clear()
        self.graphs.clear()  # they read the old buffer: captured again on demand

    def _flush(self) -> None:
        """Write the ids drawn since the last flush into the ring ``hist`` (one copy for
        up to a chunk of steps instead of one per step)."""
        draws = self._draws
        if not draws:
            return
        block = torch.stack(draws, dim=1)
        rows, n = block.shape
        start = self._draws_from % self.hist_cols
        first = min(n, self.hist_cols - start)
        self.hist[:rows, start : start + first] = block[:, :first]
        if first < n:
            self.hist[:rows, : n - first] = block[:, first:]
        self._draws = []

    def _noise_buffer(self, eager: bool) -> None:
        """The eager step reads noise hashed a chunk of steps ahead; graphs hash in-graph."""
        if eager:
            fit = NOISE_CHUNK_ELEMENTS // (self.capacity * self.vocab_size)
            self.chunk = max(1, min(NOISE_CHUNK, fit))
            shape = (self.capacity, self.chunk, self.vocab_size)
            self.hasher = NoiseHasher(self.capacity, self.chunk, self.vocab_size, self.device)
        else:
            self.chunk, shape = 1, (self.capacity, 1, 1)
        self.noise = torch.zeros(shape, device=self.device)
        self.chunk_steps = torch.arange(self.chunk, device=self.device)
        self._views.clear()
        live = len(self.rows)
        if eager and live:
            start = self.step_no - self.step_no % self.chunk
            self._hash_noise(slice(0, live), start)

    def _resized(self) -> None:
        self.padded = self.model.weights.padded_rows(len(self.rows))

    def _hash_noise(self, rows: slice, first_step: int) -> None:
        """Noise of ``rows`` for the chunk whose column 0 is step ``first_step``: each row's
        draw ``k`` (at step ``gen0 + k``) uses the noise of ``gumbel_noise(key, k)``."""
        steps = (self.chunk_steps + first_step).unsqueeze(0) - self.gen0[rows].unsqueeze(1)
        self.hasher(self.keys[rows], steps, out=self.noise[rows])
