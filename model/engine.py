"""The generation engine: one resident model serving every request, batched step by step.

A worker thread owns the model and runs *continuous batching*. Every request is a row of
preallocated device tensors (LSTM state, inverse temperature, top-k, RNG key, seed,
output ring); one step advances every row by one character with one batched LSTM step
(:class:`model.inference.StepWeights`). A new request joins at the next step and primes
its seed inside the batch: while a row is priming, its input is its next seed character
instead of the character just drawn, so priming costs no extra pass and never stalls
the other rows. A row's finishing step is known when it joins (seed length + length), so
finished rows are found without looking at the device; each one's characters come back
in one transfer, its row is filled by the last row (compaction) and its coroutine is
resumed with ``call_soon_threadsafe``.

Each row draws with its own temperature, top-k and counter-based random stream
(:mod:`model.rng`), and the step gives a row the same bits whatever its batch, so a
request's text is the one :func:`model.sample.sample` gives for the same RNG seed, alone
or among hundreds.

On the CPU the noise for every row is hashed for 32 steps at a time, and the priming
and top-k work is skipped on steps where no row needs it. On CUDA the whole step (noise
and priming included) is captured as a CUDA graph per batch-size bucket (padded up), so
a step is one launch; a failed capture falls back to the eager step for good.

``swap`` installs a new model for new requests. Rows are grouped per model, each group
stepped separately, so requests already running finish on the model they started with;
a retired model's group is dropped when its last row leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import torch

from model.checkpoint import Checkpoint
from model.errors import ModelError, SeedError
from model.inference import StepWeights, choose
from model.rng import gumbel_noise, new_seed, request_key
from model.sample import MAX_LENGTH, check_params
from model.vocab import SeedEncoding, Vocabulary

log = logging.getLogger(__name__)

Version = int | str

MAX_SEED_CHARS = 10_000  # per row the seed lives in a padded device buffer
CUDA_GRAPH_BUCKETS = (1, 8, 32, 128, 256)
NOISE_CHUNK = 32  # steps of noise hashed at once on the eager path
NOISE_CHUNK_ELEMENTS = 1 << 20  # cap on the noise buffers (rows * chunk * vocab)
_M32 = 0xFFFFFFFF


class EngineBusy(ModelError):
    """The queue of waiting requests is full."""

    def __init__(self) -> None:
        super().__init__("the generator is busy, try again in a moment.")


class EngineStopped(ModelError):
    """The engine is not running (not started yet, stopping, or stopped)."""

    def __init__(self, message: str = "the generator is not running; try again shortly.") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class GenerationResult:
    seed: SeedEncoding
    continuation: str
    model_version: Version
    rng_seed: int
    queued_s: float  # from generate() to joining the batch
    latency_s: float  # from generate() to the text being ready

    @property
    def text(self) -> str:
        """The seed as the model saw it, followed by the continuation."""
        return self.seed.text + self.continuation


class _Model:
    """One model version, its weights laid out for the batched step."""

    def __init__(self, checkpoint: Checkpoint, version: Version) -> None:
        self.checkpoint = checkpoint
        self.version = version
        self.vocab: Vocabulary = checkpoint.vocab
        model = checkpoint.model.eval()
        if model.config.vocab_size != len(self.vocab):
            raise ModelError("the checkpoint's vocabulary does not match its model.")
        self.weights = StepWeights(model)
        self.device = self.weights.device


class _Request:
    __slots__ = (
        "cancelled",
        "encoded",
        "enqueued",
        "future",
        "gen0",
        "length",
        "model",
        "rng_seed",
        "slot",
        "started",
        "temperature",
        "top_k",
    )

    def __init__(
        self,
        model: _Model,
        encoded: SeedEncoding,
        temperature: float,
        length: int,
        top_k: int,
        rng_seed: int,
        future: asyncio.Future[GenerationResult],
    ) -> None:
        self.model = model
        self.encoded = encoded
        self.temperature = temperature
        self.length = length
        self.top_k = top_k
        self.rng_seed = rng_seed
        self.future = future
        self.enqueued = time.perf_counter()
        self.started = 0.0
        self.slot = -1  # row in its group while running
        self.gen0 = 0  # the group step that draws the first character
        self.cancelled = False


def _settle(future: asyncio.Future[Any], value: object) -> None:
    if future.done():  # the caller gave up
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)


def _resolve(future: asyncio.Future[Any], value: object) -> None:
    """Resolve a future from any thread."""
    with contextlib.suppress(RuntimeError):  # its event loop is closed: nobody is waiting
        future.get_loop().call_soon_threadsafe(_settle, future, value)


def _deliver(request: _Request, value: GenerationResult | BaseException) -> None:
    _resolve(request.future, value)


class _Command:
    """Work for the worker thread between two steps, with a future for its result."""

    def __init__(self, run: Callable[[], object], future: asyncio.Future[Any]) -> None:
        self.run_fn, self.future = run, future

    def run(self) -> None:
        try:
            value = self.run_fn()
        except Exception as exc:
            value = exc
        _resolve(self.future, value)

    def fail(self, error: BaseException) -> None:
        _resolve(self.future, error)


def _set_thread_local_num_threads(n: int) -> None:
    """``torch.set_num_threads(n)`` for the calling thread only.

    It sets this thread's OpenMP and MKL thread counts, but also the process-wide default
    that threads starting torch work later inherit; a short-lived helper thread puts that
    default back.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    if before != n:
        helper = threading.Thread(target=torch.set_num_threads, args=(before,))
        helper.start()
        helper.join()


class _NoiseHasher:
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


def _graphs_available(device: torch.device) -> bool:
    return device.type == "cuda"


class _Views:
    """The first ``rows`` rows of a group's buffers (views made once per row count)."""

    def __init__(self, group: _Group, rows: int) -> None:
        self.h = group.h[:, :rows]
        self.c = group.c[:, :rows]
        self.inv_t = group.inv_t[:rows]
        self.top_k = group.top_k[:rows]
        self.keys = group.keys[:rows]
        self.admit = group.admit[:rows]
        self.gen0 = group.gen0[:rows]
        self.seeds = group.seeds[:rows]
        self.hist = group.hist[:rows]
        self.noise = group.noise[:rows]
        self.noise_cols = list(self.noise.unbind(1))
        self.step = group.model.weights.bind(self.h, self.c)


class _Group:
    """Every running row of one model version, in preallocated device tensors.

    Rows ``0 .. len(rows)-1`` are live; the step runs on that many rows rounded up to the
    weights' row granule (or to a CUDA graph bucket), the rest being padding.
    """

    def __init__(self, model: _Model, max_batch: int, use_cuda_graphs: bool) -> None:
        self.model = model
        w = model.weights
        dev = self.device = w.device
        self.vocab_size = w.vocab_size
        self.use_graphs = use_cuda_graphs and _graphs_available(dev)
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
        self.keys = torch.zeros(capacity, dtype=torch.long, device=dev)
        self.admit = torch.zeros(capacity, dtype=torch.long, device=dev)  # step it joined
        self.gen0 = torch.zeros(capacity, dtype=torch.long, device=dev)  # step of 1st draw
        self.seed_cols = 0
        self.seeds = torch.zeros(capacity, 0, dtype=torch.int32, device=dev)
        self.hist_cols = MAX_LENGTH  # ring of drawn ids, indexed by step
        self.hist = torch.zeros(capacity, self.hist_cols, dtype=torch.int32, device=dev)
        self.rows: list[_Request] = []
        self._views: dict[int, _Views] = {}
        self.padded = 0  # rows the eager step runs on
        self._draws: list[torch.Tensor] = []  # ids drawn since the last flush to ``hist``
        self._draws_from = 0  # the step of the first of them
        self.step_no = 0  # steps taken by this group
        self.finish_at: dict[int, list[_Request]] = {}
        self.prime_until = 0  # no row primes from this step on
        self.n_top_k = 0
        # CUDA graphs, one per bucket; the step counter lives on the device for them.
        self.graphs: dict[int, Any] = {}
        self.graphs_broken = False
        self.step_dev = torch.zeros((), dtype=torch.long, device=dev)
        self.step_dev_value = 0
        self._pool: Any = None
        self._noise_buffer(eager=not self.use_graphs)

    def __len__(self) -> int:
        return len(self.rows)

    def views(self, rows: int) -> _Views:
        v = self._views.get(rows)
        if v is None:
            v = self._views[rows] = _Views(self, rows)
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
            self.hasher = _NoiseHasher(self.capacity, self.chunk, self.vocab_size, self.device)
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

    def admit_rows(self, requests: list[_Request]) -> None:
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
        self.rows.extend(requests)
        self._resized()
        self.prime_until = max(self.prime_until, step + longest)

    def remove_rows(self, leaving: list[_Request]) -> None:
        """Take rows out and fill the holes with the last rows, keeping rows dense."""
        self._flush()
        gone = {r.slot for r in leaving}
        for r in leaving:
            r.slot = -1
            self.n_top_k -= r.top_k > 0
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

    def take_finished(self) -> list[tuple[_Request, list[int]]]:
        """Rows whose last character was drawn by the step just taken, with their ids."""
        due = self.finish_at.pop(self.step_no - 1, None)
        if not due:
            return []
        done = [r for r in due if r.slot >= 0]
        self._flush()
        out: list[tuple[_Request, list[int]]] = []
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
        drawn = choose(logits, v.inv_t, v.noise_cols[col], v.top_k if self.n_top_k else None)
        if not self._draws:
            self._draws_from = step
        self._draws.append(drawn)
        if step < self.prime_until:
            pos = torch.rsub(v.admit, step).clamp_(0, self.seed_cols - 1)
            forced = v.seeds.gather(1, pos.unsqueeze(1)).squeeze(1)
            drawn = torch.where(v.gen0 > step, forced, drawn)
        v.step.advance(drawn)
        self.step_no = step + 1
        if len(self._draws) >= NOISE_CHUNK:
            self._flush()

    def _graph_body(self, rows: int) -> None:
        """The whole step on device tensors only (step counter included), for capture."""
        v = self.views(rows)
        step = self.step_dev
        noise = gumbel_noise(v.keys, step - v.gen0, self.vocab_size)
        drawn = choose(v.step.head(), v.inv_t, noise, v.top_k)
        col = torch.remainder(step, self.hist_cols).view(1, 1).expand(rows, 1)
        v.hist.scatter_(1, col, drawn.view(rows, 1).to(torch.int32))
        pos = (step - v.admit).clamp_(0, max(self.seed_cols - 1, 0))
        if self.seed_cols:
            forced = v.seeds.gather(1, pos.unsqueeze(1)).squeeze(1)
            drawn = torch.where(v.gen0 > step, forced, drawn)
        v.step.advance(drawn)
        step.add_(1)

    def _capture(self, rows: int) -> Any:
        """Capture the step for ``rows`` rows; None (and eager from now on) if that fails."""
        saved = [t.clone() for t in (self.h, self.c, self.hist)]
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
            for t, s in zip((self.h, self.c, self.hist), saved, strict=True):
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


class GenerationEngine:
    """Serves ``generate`` calls from one resident model with continuous batching.

    ``max_batch`` rows run at once (over all model versions) and up to ``max_queue``
    more wait to join; beyond that :class:`EngineBusy`, at once. Validation happens in
    the caller's coroutine, against the model that will run the request.
    ``use_cuda_graphs`` only matters on CUDA. ``num_threads`` is the worker thread's
    intra-op thread count (``torch.set_num_threads`` there; other threads keep theirs):
    one is fastest for this model's small matrices and leaves the other cores to the
    event loop; ``None`` keeps torch's setting.
    """

    def __init__(
        self,
        checkpoint: Checkpoint,
        version: Version,
        *,
        max_batch: int = 256,
        max_queue: int = 1024,
        use_cuda_graphs: bool = True,
        num_threads: int | None = 1,
    ) -> None:
        if max_batch < 1 or max_queue < 0:
            raise ValueError("max_batch must be at least 1 and max_queue at least 0")
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.use_cuda_graphs = use_cuda_graphs
        self.num_threads = num_threads
        self._current = _Model(checkpoint, version)
        self._pending: deque[_Request] = deque()
        self._cancels: deque[_Request] = deque()
        self._commands: deque[_Command] = deque()
        self._groups: dict[_Model, _Group] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._accepting = False
        self._halt = False
        self._active = 0
        # Counters for /stats and the tests.
        self.steps = 0  # group steps taken
        self.max_batch_seen = 0
        self.completed = 0
        self.chars_generated = 0

    # ---------------------------------------------------------------- properties

    @property
    def version(self) -> Version:
        return self._current.version

    @property
    def vocab(self) -> Vocabulary:
        return self._current.vocab

    @property
    def checkpoint(self) -> Checkpoint:
        return self._current.checkpoint

    @property
    def device(self) -> torch.device:
        return self._current.device

    @property
    def queue_depth(self) -> int:
        """Requests waiting to join the batch."""
        return len(self._pending)

    @property
    def active_requests(self) -> int:
        """Requests in the batch now (over all model versions)."""
        return self._active

    @property
    def running(self) -> bool:
        return self._accepting

    def encode_seed(self, seed: str) -> SeedEncoding:
        """The seed as the current model would see it; raises SeedError."""
        return self._current.vocab.encode_seed(seed)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if self._thread is not None:
            return
        self._halt = False
        self._thread = threading.Thread(target=self._work, name="generation-engine", daemon=True)
        self._thread.start()
        self._accepting = True

    async def stop(self, drain: bool = True, timeout: float = 10.0) -> None:
        """Stop taking requests; finish those in hand within ``timeout`` (``drain``), and
        fail whatever is left with :class:`EngineStopped`. The worker thread is gone after."""
        self._accepting = False
        thread = self._thread
        if thread is None:
            self._fail_everything()
            return
        deadline = time.monotonic() + max(0.0, timeout)
        if drain:
            while (self._pending or self._active) and thread.is_alive():
                if time.monotonic() >= deadline:
                    log.warning("engine stop: %d request(s) unfinished, cancelling", self._active)
                    break
                await asyncio.sleep(0.005)
        with self._cond:
            self._halt = True
            self._cond.notify_all()
        give_up = time.monotonic() + 30.0  # a step is milliseconds; a capture or load, seconds
        while thread.is_alive() and time.monotonic() < give_up:
            await asyncio.sleep(0.002)
        if thread.is_alive():
            log.error("the engine's worker thread did not stop")
        else:
            thread.join()
        self._thread = None
        self._fail_everything()

    async def __aenter__(self) -> GenerationEngine:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def swap(self, checkpoint: Checkpoint, version: Version) -> None:
        """Serve new requests with ``checkpoint`` from now on; running ones finish on theirs.

        The weights are laid out on the worker thread (the one that owns the device),
        between two steps.
        """
        thread = self._thread
        if thread is None or not thread.is_alive():
            model = _Model(checkpoint, version)
        else:
            done: asyncio.Future[_Model] = asyncio.get_running_loop().create_future()
            with self._cond:
                self._commands.append(_Command(lambda: _Model(checkpoint, version), done))
                self._cond.notify()
            model = await done
        self._current = model
        log.info("the engine serves model version %s from now on", version)

    # ------------------------------------------------------------------- serving

    async def generate(
        self,
        seed: str,
        temperature: float,
        length: int,
        top_k: int | None = None,
        rng_seed: int | None = None,
    ) -> GenerationResult:
        """Continue ``seed`` by ``length`` characters with the current model.

        Raises SeedError / SamplingError (bad input, before queueing), EngineBusy (queue
        full) and EngineStopped (not running).
        """
        if not self._accepting:
            raise EngineStopped()
        check_params(temperature, length, top_k)
        model = self._current
        encoded = model.vocab.encode_seed(seed)
        if len(encoded.ids) > MAX_SEED_CHARS:
            raise SeedError(
                f"the seed is too long: {len(encoded.ids)} characters; "
                f"at most {MAX_SEED_CHARS} are accepted."
            )
        rng_seed = new_seed() if rng_seed is None else rng_seed
        if length == 0:
            return GenerationResult(encoded, "", model.version, rng_seed, 0.0, 0.0)
        loop = asyncio.get_running_loop()
        request = _Request(
            model, encoded, temperature, length, top_k or 0, rng_seed, loop.create_future()
        )
        with self._cond:
            # Up to max_queue may wait beyond the rows the batch can still take.
            if len(self._pending) >= self.max_queue + max(0, self.max_batch - self._active):
                raise EngineBusy()
            self._pending.append(request)
            self._cond.notify()
        try:
            return await request.future
        except asyncio.CancelledError:
            request.cancelled = True
            with self._cond:
                self._cancels.append(request)
                self._cond.notify()
            raise

    # -------------------------------------------------------------------- worker

    def _work(self) -> None:
        try:
            if self.num_threads is not None:
                _set_thread_local_num_threads(self.num_threads)
            with torch.inference_mode():
                while self._work_once():
                    pass
        except BaseException:  # pragma: no cover - a bug; keep callers from hanging
            log.exception("the engine's worker thread died")
            self._accepting = False
            self._fail_everything()

    def _work_once(self) -> bool:
        if not (self._halt or self._pending or self._commands or self._cancels) and self._active:
            self._step_groups()  # the usual case: nothing new, keep stepping (no lock)
            return True
        with self._cond:
            while not (
                self._halt or self._pending or self._commands or self._cancels or self._active
            ):
                self._cond.wait()
            if self._halt:
                return False
            commands = list(self._commands)
            self._commands.clear()
            cancels = list(self._cancels)
            self._cancels.clear()
            new = self._take_pending()
        for command in commands:
            command.run()
        if cancels:
            self._drop(cancels)
        if new:
            self._admit(new)
        self._step_groups()
        return True

    def _take_pending(self) -> list[_Request]:
        """Under the lock: requests that fit in the batch, counted active *before* they
        leave the queue, so ``stop(drain=True)`` never sees them in neither place."""
        room = self.max_batch - self._active
        taken: list[_Request] = []
        while self._pending and len(taken) < room:
            self._active += 1
            r = self._pending.popleft()
            if r.cancelled:
                self._active -= 1
            else:
                taken.append(r)
        return taken

    def _group(self, model: _Model) -> _Group:
        group = self._groups.get(model)
        if group is None:
            group = self._groups[model] = _Group(model, self.max_batch, self.use_cuda_graphs)
        return group

    def _admit(self, new: list[_Request]) -> None:
        now = time.perf_counter()
        by_model: dict[_Model, list[_Request]] = {}
        for r in new:
            if r.cancelled:  # given up on while it was being taken from the queue
                self._active -= 1
                continue
            r.started = now
            by_model.setdefault(r.model, []).append(r)
        for model, requests in by_model.items():
            try:
                self._group(model).admit_rows(requests)
            except Exception as exc:  # e.g. out of memory: fail this model's rows, not hang
                log.exception("could not start %d generation(s)", len(requests))
                error = functools.partial(ModelError, f"generation failed: {exc}")
                group = self._groups.pop(model, None)
                failed = {id(r) for r in group.rows} if group is not None else set()
                if group is not None:
                    self._fail_group(group, error)
                for r in requests:
                    if id(r) not in failed:
                        self._active -= 1
                        _deliver(r, error())

    def _drop(self, cancels: list[_Request]) -> None:
        for model, group in self._groups.items():
            leaving = [r for r in cancels if r.model is model and r.slot >= 0]
            if leaving:
                group.remove_rows(leaving)
                self._active -= len(leaving)

    def _step_groups(self) -> None:
        for model, group in list(self._groups.items()):
            if group.rows:
                self.max_batch_seen = max(self.max_batch_seen, len(group.rows))
                try:
                    group.step()
                    finished = group.take_finished()
                except Exception as exc:
                    log.exception("a generation step failed")
                    message = f"generation failed: {exc}"
                    self._fail_group(group, functools.partial(ModelError, message))
                    del self._groups[model]
                    continue
                self.steps += 1
                for r, ids in finished:
                    self._active -= 1
                    self.completed += 1
                    self.chars_generated += len(ids)
                    now = time.perf_counter()
                    result = GenerationResult(
                        seed=r.encoded,
                        continuation=model.vocab.decode(ids),
                        model_version=model.version,
                        rng_seed=r.rng_seed,
                        queued_s=r.started - r.enqueued,
                        latency_s=now - r.enqueued,
                    )
                    _deliver(r, result)
            if not group.rows and model is not self._current:
                del self._groups[model]  # a retired model: free its buffers

    def _fail_group(self, group: _Group, error: Callable[[], BaseException]) -> None:
        rows, group.rows = group.rows, []
        self._active -= len(rows)  # before the callers wake up
        for r in rows:
            r.slot = -1
            _deliver(r, error())

    def _fail_everything(self) -> None:
        """After the worker is gone: every request still held gets EngineStopped."""

        def stopped() -> EngineStopped:
            return EngineStopped("the generator stopped before finishing this text.")

        for group in self._groups.values():
            self._fail_group(group, stopped)
        self._groups.clear()
        self._active = 0
        with self._cond:
            pending = list(self._pending)
            self._pending.clear()
            self._cancels.clear()
            commands = list(self._commands)
            self._commands.clear()
        for r in pending:
            _deliver(r, stopped())
        for command in commands:
            command.fail(EngineStopped("the generator stopped before the swap."))
