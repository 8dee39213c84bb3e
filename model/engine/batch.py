"""The running rows of one model version, in preallocated device tensors, and their step.

A :class:`Group` holds every running request of one model as a row of device tensors
(LSTM state, inverse temperature, top-k, RNG key, seed, output ring); :meth:`Group.step`
advances every row by one character with one batched LSTM step. A new request joins at
the next step and primes its seed inside the batch: while a row is priming, its input is
its next seed character instead of the character just drawn. A row's finishing step is
known when it joins, so finished rows are found without looking at the device; a row
that leaves is filled by the last row (compaction).

On the CPU the noise for every row is hashed for a chunk of steps at a time
(:class:`NoiseHasher`). On CUDA the whole step is captured as a CUDA graph per
batch-size bucket (padded up); a failed capture falls back to the eager step for good.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from model.engine.requests import LoadedModel, Request
from model.inference import choose
from model.rng import gumbel_noise, request_key
from model.sample import MAX_LENGTH, log_min_p

log = logging.getLogger(__name__)

CUDA_GRAPH_BUCKETS = (1, 8, 32, 128, 256)
NOISE_CHUNK = 32  # steps of noise hashed at once on the eager path
NOISE_CHUNK_ELEMENTS = 1 << 20  # cap on the noise buffers (rows * chunk * vocab)
_M32 = 0xFFFFFFFF


class NoiseHasher:
    """:func:`model.rng.gumbel_noise` for a block of rows and steps, computed in place in
    buffers kept from call to call: the same integer and float operations in the same
    order, so the same bits, without allocating a fresh tensor for each of its ~30
    operations (at 64 rows that allocation churn was a quarter of a step)."""

    def __init__(self, rows: int, chunk: int, vocab: int, device: torch.device) -> None:
        self.x = torch.empty(rows, chunk, vocab, dtype=torch.long, device=device)
        self.t = torch.empty_like(self.x)
        self.v_term = torch.arange(vocab, dtype=torch.long, device=device) * 0x85EBCA6B

    @staticmethod
    def _mix32(x: torch.Tensor, t: torch.Tensor) -> None:
        # model.rng._mix32, in place
        x.bitwise_xor_(torch.bitwise_right_shift(x, 16, out=t))
        x.mul_(0x7FEB352D).bitwise_and_(_M32)
        x.bitwise_xor_(torch.bitwise_right_shift(x, 15, out=t))
        x.mul_(0x846CA68B).bitwise_and_(_M32)
        x.bitwise_xor_(torch.bitwise_right_shift(x, 16, out=t))

    def __call__(self, keys: torch.Tensor, steps: torch.Tensor, out: torch.Tensor) -> None:
        """Noise for ``keys`` (n,) at ``steps`` (n, chunk) into ``out`` (n, chunk, vocab)."""
        n = keys.shape[0]
        x, t = self.x[:n], self.t[:n]
        base = keys.unsqueeze(1) + steps * 0x9E3779B9
        torch.add(base.unsqueeze(2), self.v_term, out=x).bitwise_and_(_M32)
        self._mix32(x, t)
        x.bitwise_xor_(keys.view(n, 1, 1))
        self._mix32(x, t)
        out.copy_(x.bitwise_right_shift_(8))
        out.add_(0.5).mul_(1.0 / 16777216.0).log_().neg_().log_().neg_()


def graphs_available(device: torch.device) -> bool:
    return device.type == "cuda"


class Views:
    """The first ``rows`` rows of a group's buffers (views made once per row count)."""

    def __init__(self, group: Group, rows: int) -> None:
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


class Group:
    """Every running row of one model version, in preallocated device tensors.

    Rows ``0 .. len(rows)-1`` are live; the step runs on that many rows rounded up to the
    weights' row granule (or to a CUDA graph bucket), the rest being padding.
    """

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

    # ---------------------------------------------------------------- rows in/out

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

    def admit_rows(self, requests: list[Request]) -> None:
        self._flush()
        n = len(requests)
        first = len(self.rows)
        dev, step = self.device, self.step_no
        longest = max(len(r.encoded.ids) for r in requests)
        if longest > self.seed_cols:
            self._grow_seeds(longest)
        seeds = torch.zeros(n, self.seed_cols, dtype=torch.int32)
        for i, r in enumerate(requests):
            seeds[i, : len(r.encoded.ids)] = torch.tensor(r.encoded.ids, dtype=torch.int32)
        lengths = [len(r.encoded.ids) for r in requests]
        rows = slice(first, first + n)
        self.seeds[rows] = seeds.to(dev)
        self.h[:, rows] = 0.0
        self.c[:, rows] = 0.0
        self.inv_t[rows] = torch.tensor([[1.0 / r.temperature] for r in requests]).to(dev)
        self.top_k[rows] = torch.tensor([r.top_k for r in requests], dtype=torch.long).to(dev)
        cuts = [[log_min_p(r.min_p)] for r in requests]
        self.log_min_p[rows] = torch.tensor(cuts, dtype=torch.float32).to(dev)
        self.ngram_state[rows] = 0  # the start state; priming reads the seed into it
        self.keys[rows] = torch.stack([request_key(r.rng_seed) for r in requests]).to(dev)
        self.admit[rows] = step
        self.gen0[rows] = torch.tensor([step + k for k in lengths], dtype=torch.long).to(dev)
        if not self.use_graphs:
            self._hash_noise(rows, step - step % self.chunk)
        for i, r in enumerate(requests):
            r.slot = first + i
            r.gen0 = step + lengths[i]
            self.finish_at.setdefault(r.gen0 + r.length - 1, []).append(r)
            self.n_top_k += r.top_k > 0
            self.n_min_p += r.min_p > 0
        self.rows.extend(requests)
        self._resized()
        self.prime_until = max(self.prime_until, step + longest)

    def remove_rows(self, leaving: list[Request]) -> None:
        """Take rows out and fill the holes with the last rows, keeping rows dense."""
        self._flush()
        gone = {r.slot for r in leaving}
        for r in leaving:
            r.slot = -1
            self.n_top_k -= r.top_k > 0
            self.n_min_p -= r.min_p > 0
        size = len(self.rows)
        keep = size - len(gone)
        holes = sorted(s for s in gone if s < keep)
        movers = [s for s in range(keep, size) if s not in gone]
        if holes:
            dst = torch.tensor(holes, dtype=torch.long, device=self.device)
            src = torch.tensor(movers, dtype=torch.long, device=self.device)
            for buf in (self.h, self.c):
                buf.index_copy_(1, dst, buf.index_select(1, src))
            for buf in (
                self.inv_t,
                self.top_k,
                self.log_min_p,
                self.ngram_state,
                self.keys,
                self.admit,
                self.gen0,
                self.seeds,
                self.hist,
                self.noise,
            ):
                buf.index_copy_(0, dst, buf.index_select(0, src))
            for hole, mover in zip(holes, movers, strict=True):
                r = self.rows[mover]
                r.slot = hole
                self.rows[hole] = r
        del self.rows[keep:]
        self._resized()

    def take_finished(self) -> list[tuple[Request, list[int]]]:
        """Rows whose last character was drawn by the step just taken, with their ids."""
        due = self.finish_at.pop(self.step_no - 1, None)
        if not due:
            return []
        done = [r for r in due if r.slot >= 0]
        self._flush()
        out: list[tuple[Request, list[int]]] = []
        for r in done:
            start = r.gen0 % self.hist_cols
            end = start + r.length
            row = self.hist[r.slot]
            if end <= self.hist_cols:
                ids = row[start:end]
            else:
                ids = torch.cat([row[start:], row[: end - self.hist_cols]])
            out.append((r, ids.tolist()))  # the one device-to-host copy of the request
        self.remove_rows(done)
        return out

    # ---------------------------------------------------------------------- steps

    def step(self) -> None:
        if self.use_graphs and not self.graphs_broken:
            bucket = next(b for b in self.buckets if b >= len(self.rows))
            graph = self.graphs.get(bucket)
            if graph is None:
                graph = self._capture(bucket)
            if graph is not None:
                if self.step_dev_value != self.step_no:
                    self.step_dev.fill_(self.step_no)
                graph.replay()
                self.step_no += 1
                self.step_dev_value = self.step_no
                return
        self._eager_step()

    def _eager_step(self) -> None:
        v = self.views(self.padded)
        step = self.step_no
        col = step % self.chunk
        if col == 0:
            self._hash_noise(slice(0, len(self.rows)), step)
        logits = v.step.head()
        tables = self.tables
        if tables is not None:
            torch.index_select(tables.share, 0, v.ngram_state, out=v.ngram_share)
            logits = tables.mix(logits, v.ngram_share)
        drawn = choose(
            logits,
            v.inv_t,
            v.noise_cols[col],
            v.top_k if self.n_top_k else None,
            v.log_min_p if self.n_min_p else None,
        )
        if not self._draws:
            self._draws_from = step
        self._draws.append(drawn)
        if step < self.prime_until:
            pos = torch.rsub(v.admit, step).clamp_(0, self.seed_cols - 1)
            forced = v.seeds.gather(1, pos.unsqueeze(1)).squeeze(1)
            drawn = torch.where(v.gen0 > step, forced, drawn)
        v.step.advance(drawn)
        self._advance_ngram(v, drawn)
        self.step_no = step + 1
        if len(self._draws) >= NOISE_CHUNK:
            self._flush()

    def _advance_ngram(self, v: Views, drawn: torch.Tensor) -> None:
        """Move every row's n-gram state past the character it just read."""
        if self.next_state_flat is None:
            return
        flat = v.ngram_state * self.vocab_size + drawn
        torch.index_select(self.next_state_flat, 0, flat, out=v.ngram_state)

    def _graph_body(self, rows: int) -> None:
        """The whole step on device tensors only (step counter included), for capture."""
        v = self.views(rows)
        step = self.step_dev
        noise = gumbel_noise(v.keys, step - v.gen0, self.vocab_size)
        logits = v.step.head()
        if self.tables is not None:
            share = self.tables.share.index_select(0, v.ngram_state)
            logits = self.tables.mix(logits, share)
        drawn = choose(logits, v.inv_t, noise, v.top_k, v.log_min_p)
        col = torch.remainder(step, self.hist_cols).view(1, 1).expand(rows, 1)
        v.hist.scatter_(1, col, drawn.view(rows, 1).to(torch.int32))
        pos = (step - v.admit).clamp_(0, max(self.seed_cols - 1, 0))
        if self.seed_cols:
            forced = v.seeds.gather(1, pos.unsqueeze(1)).squeeze(1)
            drawn = torch.where(v.gen0 > step, forced, drawn)
        v.step.advance(drawn)
        self._advance_ngram(v, drawn)
        step.add_(1)

    def _capture(self, rows: int) -> Any:
        """Capture the step for ``rows`` rows; None (and eager from now on) if that fails."""
        kept = (self.h, self.c, self.hist, self.ngram_state)
        saved = [t.clone() for t in kept]
        try:
            self.step_dev.fill_(self.step_no)
            side = torch.cuda.Stream(self.device)  # type: ignore[no-untyped-call]
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                for _ in range(2):  # warm-up, as capture requires; its writes are undone below
                    self._graph_body(rows)
            torch.cuda.current_stream(self.device).wait_stream(side)
            if self._pool is None:
                self._pool = torch.cuda.graph_pool_handle()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self._pool, capture_error_mode="thread_local"):
                self._graph_body(rows)
        except Exception:
            log.warning("CUDA graph capture failed; stepping eagerly", exc_info=True)
            graph = None
        finally:
            for t, s in zip(kept, saved, strict=True):
                t.copy_(s)
            self.step_dev.fill_(self.step_no)
            self.step_dev_value = self.step_no
        if graph is None:
            self.graphs_broken = True
            self.graphs.clear()
            self._noise_buffer(eager=True)
        else:
            self.graphs[rows] = graph
        return graph
