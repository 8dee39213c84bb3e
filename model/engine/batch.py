"""The running rows of one model version, in preallocated device tensors, and their step.

A :class:`Group` holds every running request of one model as a row of device tensors
(LSTM state, inverse temperature, top-k, RNG key, seed, output ring); :meth:`Group.step`
advances every row by one character with one batched LSTM step. A new request joins at
the next step and primes its seed inside the batch: while a row is priming, its input is
its next seed character instead of the character just drawn. A row's finishing step is
known when it joins, so finished rows are found without looking at the device; a row
that leaves is filled by the last row (compaction).

On the CPU the noise for every row is hashed for a chunk of steps at a time
(:class:`model.engine.noise.NoiseHasher`). On CUDA the whole step is captured as a CUDA
graph per batch-size bucket (padded up); a failed capture falls back to the eager step
for good.

The tensors themselves (allocation, views, seed growth, the output ring, the noise
chunk) are :class:`model.engine.buffers.GroupBuffers`'s, which :class:`Group` extends
with rows joining and leaving, and the step.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from model.engine.buffers import NOISE_CHUNK, GroupBuffers, Views
from model.engine.requests import Request
from model.inference import choose
from model.rng import gumbel_noise, request_key
from model.sample import log_min_p

log = logging.getLogger(__name__)


class Group(GroupBuffers):
    """Every running row of one model version, in preallocated device tensors.

    Rows ``0 .. len(rows)-1`` are live; the step runs on that many rows rounded up to the
    weights' row granule (or to a CUDA graph bucket), the rest being padding.
    """

    # ---------------------------------------------------------------- rows in/out

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
