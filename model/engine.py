"""The generation engine: one resident model serving every request, batched step by step.

A worker thread owns the model and runs *continuous batching*: requests that arrive
while others are running join at the next step; every step advances every active
request by one character in a single batched LSTM step, each row with its own
temperature, top-k and random stream (:mod:`model.rng`), so a request's text is the one
:func:`model.sample.sample` gives for the same RNG seed. Finished rows leave the batch
and their coroutines are resumed with ``call_soon_threadsafe``; no row costs a host
sync per character. ``swap`` installs a new model for new requests while rows already
running finish on the model they started with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import torch

from model.checkpoint import Checkpoint
from model.errors import ModelError
from model.inference import StepWeights, choose
from model.rng import gumbel_noise, new_seed, request_key
from model.sample import check_params
from model.vocab import SeedEncoding, Vocabulary

log = logging.getLogger(__name__)

Version = int | str
# Noise is drawn for this many steps at once per row: one hashing pass per chunk
# instead of a dozen small integer ops on every step.
NOISE_CHUNK = 32
CUDA_GRAPH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class EngineBusy(ModelError):
    def __init__(self) -> None:
        super().__init__("the generator is busy, try again in a moment.")


class EngineStopped(ModelError):
    def __init__(self) -> None:
        super().__init__("the generator is stopped.")


@dataclass(frozen=True)
class GenerationResult:
    seed: SeedEncoding
    continuation: str
    model_version: Version
    rng_seed: int
    queued_s: float
    latency_s: float

    @property
    def text(self) -> str:
        return self.seed.text + self.continuation


class _Model:
    """A loaded model version, ready for batched steps on its device."""

    def __init__(self, checkpoint: Checkpoint, version: Version, use_cuda_graphs: bool) -> None:
        self.checkpoint = checkpoint
        self.version = version
        self.vocab: Vocabulary = checkpoint.vocab
        self.model = checkpoint.model.eval()
        self.weights = StepWeights(self.model)
        self.device = self.weights.device
        self.graphs = (
            _CudaGraphStep(self.weights) if use_cuda_graphs and self.device.type == "cuda" else None
        )

    def step(
        self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.graphs is not None:
            return self.graphs.step(x, h, c)
        return self.weights.step(x, h, c)


class _CudaGraphStep:
    """The batched step captured as CUDA graphs for a few batch sizes (padded up).

    A graph replays the step's kernels with one launch, which is what the step costs on
    a GPU once batches are small. Any capture failure falls back to eager mode for good.
    """

    def __init__(self, weights: StepWeights) -> None:
        self.weights = weights
        self.graphs: dict[int, tuple[Any, tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]] = {}
        self.broken = False

    def _capture(self, size: int) -> tuple[Any, tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        w = self.weights
        x = torch.zeros(size, dtype=torch.long, device=w.device)
        h, c = w.zero_state(size)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):  # warm-up, as capture requires
                w.step(x, h, c)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outputs = w.step(x, h, c)
        return graph, (x, h, c), outputs

    def step(
        self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        size = x.shape[0]
        bucket = next((b for b in CUDA_GRAPH_BUCKETS if b >= size), None)
        if self.broken or bucket is None:
            return self.weights.step(x, h, c)
        if bucket not in self.graphs:
            try:
                self.graphs[bucket] = self._capture(bucket)
            except Exception:
                log.warning("CUDA graph capture failed; stepping eagerly", exc_info=True)
                self.broken = True
                return self.weights.step(x, h, c)
        graph, (sx, sh, sc), (logits, h1, c1) = self.graphs[bucket]
        sx[:size].copy_(x)
        sh[:, :size].copy_(h)
        sc[:, :size].copy_(c)
        graph.replay()
        return logits[:size].clone(), h1[:, :size].clone(), c1[:, :size].clone()


@dataclass(eq=False)
class _Request:
    model: _Model
    encoded: SeedEncoding
    temperature: float
    length: int
    top_k: int
    rng_seed: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[GenerationResult]
    enqueued: float = field(default_factory=time.perf_counter)
    started: float = 0.0
    done_steps: int = 0
    out: list[torch.Tensor] = field(default_factory=list)  # (1,) device tensors per step
    cancelled: bool = False


class _Batch:
    """Every running row of one model version, as stacked device tensors."""

    def __init__(self, model: _Model) -> None:
        self.model = model
        self.rows: list[_Request] = []
        dev = model.device
        h, c = model.weights.zero_state(0)
        self.h, self.c = h, c
        self.logits = torch.empty(0, model.weights.vocab_size, device=dev)
        self.inv_t = torch.empty(0, 1, device=dev)
        self.top_k = torch.empty(0, dtype=torch.long, device=dev)
        self.keys = torch.empty(0, dtype=torch.long, device=dev)
        self.noise = torch.empty(0, NOISE_CHUNK, model.weights.vocab_size, device=dev)
        self.tick = 0  # position inside the current noise chunk
        self.outs: list[torch.Tensor] = []  # chosen ids per step since the last flush

    def __len__(self) -> int:
        return len(self.rows)

    def _noise_for(self, keys: torch.Tensor, first_steps: torch.Tensor) -> torch.Tensor:
        # Columns tick..NOISE_CHUNK-1 of the chunk are steps first, first+1, ...
        offsets = torch.arange(NOISE_CHUNK, device=keys.device) - self.tick
        steps = first_steps.unsqueeze(1) + offsets.unsqueeze(0)
        return gumbel_noise(keys.unsqueeze(1), steps, self.model.weights.vocab_size)

    def admit(self, requests: list[_Request]) -> None:
        """Prime the seeds of new rows (batched by seed length) and append them."""
        self._flush()
        model, dev = self.model, self.model.device
        by_length: dict[int, list[_Request]] = {}
        for r in requests:
            by_length.setdefault(len(r.encoded.ids), []).append(r)
        logits, hs, cs, ordered = [self.logits], [self.h], [self.c], []
        for group in by_length.values():
            x = torch.tensor([r.encoded.ids for r in group], dtype=torch.long, device=dev)
            out, (h, c) = model.model(x)
            logits.append(out[:, -1, :])
            hs.append(h)
            cs.append(c)
            ordered.extend(group)
        self.rows.extend(ordered)
        self.logits = torch.cat(logits)
        self.h, self.c = torch.cat(hs, dim=1), torch.cat(cs, dim=1)
        new_inv_t = torch.tensor([[1.0 / r.temperature] for r in ordered], device=dev)
        new_k = torch.tensor([r.top_k for r in ordered], dtype=torch.long, device=dev)
        new_keys = torch.stack([request_key(r.rng_seed, dev) for r in ordered])
        self.inv_t = torch.cat([self.inv_t, new_inv_t])
        self.top_k = torch.cat([self.top_k, new_k])
        self.keys = torch.cat([self.keys, new_keys])
        zeros = torch.zeros(len(ordered), dtype=torch.long, device=dev)
        self.noise = torch.cat([self.noise, self._noise_for(new_keys, zeros)])

    def step(self) -> None:
        """Choose one character for every row, then advance the LSTM where still needed."""
        if self.tick == NOISE_CHUNK:
            self._flush()
            first = torch.tensor([r.done_steps for r in self.rows], device=self.keys.device)
            self.tick = 0
            self.noise = self._noise_for(self.keys, first)
        k = self.top_k if bool(self.rows) and any(r.top_k for r in self.rows) else None
        chosen = choose(self.logits, self.inv_t, self.noise[:, self.tick], k)
        self.outs.append(chosen)
        self.tick += 1
        for r in self.rows:
            r.done_steps += 1
        if any(r.done_steps < r.length for r in self.rows):
            self.logits, self.h, self.c = self.model.step(chosen, self.h, self.c)

    def _flush(self) -> None:
        """Move the ids chosen since the last flush to each row's list (one copy)."""
        if not self.outs:
            return
        block = torch.stack(self.outs, dim=1)  # (rows, steps)
        for i, r in enumerate(self.rows):
            r.out.append(block[i])
        self.outs = []

    def finished(self) -> list[_Request]:
        """Remove and return rows that are done (or whose caller gave up)."""
        keep = [i for i, r in enumerate(self.rows) if r.done_steps < r.length and not r.cancelled]
        if len(keep) == len(self.rows):
            return []
        self._flush()
        done = [r for i, r in enumerate(self.rows) if i not in set(keep)]
        index = torch.tensor(keep, dtype=torch.long, device=self.keys.device)
        self.rows = [self.rows[i] for i in keep]
        self.h = self.h.index_select(1, index)
        self.c = self.c.index_select(1, index)
        self.logits = self.logits.index_select(0, index)
        self.inv_t = self.inv_t.index_select(0, index)
        self.top_k = self.top_k.index_select(0, index)
        self.keys = self.keys.index_select(0, index)
        self.noise = self.noise.index_select(0, index)
        return done


class GenerationEngine:
    def __init__(
        self,
        checkpoint: Checkpoint,
        version: Version,
        *,
        max_batch: int = 256,
        max_queue: int = 1024,
        use_cuda_graphs: bool = True,
    ) -> None:
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.use_cuda_graphs = use_cuda_graphs
        self._current = _Model(checkpoint, version, use_cuda_graphs)
        self._pending: deque[_Request] = deque()
        self._batches: dict[int, _Batch] = {}  # id(_Model) -> its running rows
        self._cond = threading.Condition()
        self._accepting = False
        self._stop = False
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.steps = 0
        self.max_batch_seen = 0
        self.completed = 0

    # ------------------------------------------------------------------ state

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
        return len(self._pending)

    @property
    def active_requests(self) -> int:
        return sum(len(b) for b in list(self._batches.values()))

    def encode_seed(self, seed: str) -> SeedEncoding:
        return self._current.vocab.encode_seed(seed)

    # -------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if self._thread is not None:
            return
        self._accepting, self._stop = True, False
        self._thread = threading.Thread(target=self._work, name="generation-engine", daemon=True)
        self._thread.start()

    async def stop(self, drain: bool = True, timeout: float = 10.0) -> None:
        """Stop taking requests; finish the ones in hand (within ``timeout``) or cancel them."""
        self._accepting = False
        if drain:
            deadline = time.monotonic() + timeout
            while not self._idle.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        self._fail_all()

    async def __aenter__(self) -> GenerationEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def swap(self, checkpoint: Checkpoint, version: Version) -> None:
        """New requests use ``checkpoint`` from now on; running ones finish on theirs."""
        model = await asyncio.to_thread(_Model, checkpoint, version, self.use_cuda_graphs)
        self._current = model
        log.info("engine now serves model version %s", version)

    # ----------------------------------------------------------------- serving

    async def generate(
        self,
        seed: str,
        temperature: float,
        length: int,
        top_k: int | None = None,
        rng_seed: int | None = None,
    ) -> GenerationResult:
        if not self._accepting:
            raise EngineStopped()
        check_params(temperature, length, top_k)
        model = self._current
        encoded = model.vocab.encode_seed(seed)
        rng_seed = new_seed() if rng_seed is None else rng_seed
        loop = asyncio.get_running_loop()
        request = _Request(
            model, encoded, temperature, length, top_k or 0, rng_seed, loop, loop.create_future()
        )
        if length == 0:
            return self._result(request, [])
        with self._cond:
            if len(self._pending) + self.active_requests >= self.max_queue:
                raise EngineBusy()
            self._pending.append(request)
            self._idle.clear()
            self._cond.notify()
        try:
            return await asyncio.shield(request.future)
        except asyncio.CancelledError:
            request.cancelled = True  # the worker drops the row at its next step
            raise

    def _result(self, r: _Request, ids: list[int]) -> GenerationResult:
        now = time.perf_counter()
        return GenerationResult(
            seed=r.encoded,
            continuation=r.model.vocab.decode(ids),
            model_version=r.model.version,
            rng_seed=r.rng_seed,
            queued_s=(r.started or now) - r.enqueued,
            latency_s=now - r.enqueued,
        )

    # ------------------------------------------------------------------ worker

    def _take_pending(self) -> list[_Request]:
        room = self.max_batch - self.active_requests
        taken: list[_Request] = []
        while self._pending and len(taken) < room:
            r = self._pending.popleft()
            if not r.cancelled:
                taken.append(r)
        return taken

    def _work(self) -> None:
        with torch.inference_mode():
            while True:
                with self._cond:
                    while not self._stop and not self._pending and not self._batches:
                        self._idle.set()
                        self._cond.wait()
                    if self._stop:
                        return
                    new = self._take_pending()
                try:
                    self._admit(new)
                    self._step_all()
                except Exception as exc:  # a broken step must fail its requests, not hang them
                    log.exception("generation step failed")
                    self._fail_batches(exc)

    def _admit(self, new: list[_Request]) -> None:
        now = time.perf_counter()
        groups: dict[int, list[_Request]] = {}
        for r in new:
            r.started = now
            groups.setdefault(id(r.model), []).append(r)
        for key, requests in groups.items():
            batch = self._batches.get(key)
            if batch is None:
                batch = self._batches[key] = _Batch(requests[0].model)
            batch.admit(requests)

    def _step_all(self) -> None:
        for key, batch in list(self._batches.items()):
            if len(batch):
                batch.step()
                self.steps += 1
                self.max_batch_seen = max(self.max_batch_seen, len(batch))
            for r in batch.finished():
                if not r.cancelled:
                    ids = torch.cat(r.out).tolist()[: r.length] if r.out else []
                    self._resolve(r, self._result(r, ids))
                self.completed += 1
            if not len(batch):
                del self._batches[key]

    def _resolve(self, r: _Request, value: GenerationResult | BaseException) -> None:
        def deliver() -> None:
            if r.future.done():
                return
            if isinstance(value, BaseException):
                r.future.set_exception(value)
            else:
                r.future.set_result(value)

        with contextlib.suppress(RuntimeError):  # the caller's loop is already closed
            r.loop.call_soon_threadsafe(deliver)

    def _fail_batches(self, exc: Exception) -> None:
        for batch in self._batches.values():
            for r in batch.rows:
                self._resolve(r, ModelError(f"generation failed: {exc}"))
        self._batches.clear()

    def _fail_all(self) -> None:
        for batch in self._batches.values():
            for r in batch.rows:
                self._resolve(r, EngineStopped())
        self._batches.clear()
        while self._pending:
            self._resolve(self._pending.popleft(), EngineStopped())
        self._idle.set()
