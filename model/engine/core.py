"""The engine itself: the public async API, its state, starting, stopping and swapping.

Callers' requests wait in a :class:`model.engine.fair.FairQueue` (one turn per key per
admission round); the worker thread takes as many as the batch has room for between two
steps, groups them per model version (:class:`model.engine.batch.Group`) and steps every
group until its rows finish. The worker thread and its loop are
:class:`model.engine.worker.EngineWorker`'s, which :class:`GenerationEngine` extends.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Hashable
from types import TracebackType

import torch

from model.checkpoint import Checkpoint
from model.engine.batch import Group
from model.engine.fair import FairQueue
from model.engine.requests import (
    MAX_SEED_CHARS,
    Command,
    EngineBusy,
    EngineStopped,
    GenerationResult,
    LoadedModel,
    Request,
    Version,
    deliver,
)
from model.engine.worker import EngineWorker
from model.errors import SeedError
from model.rng import new_seed
from model.sample import DEFAULT_MIN_P, check_params
from model.vocab import SeedEncoding, Vocabulary

log = logging.getLogger(__name__)


class GenerationEngine(EngineWorker):
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
        self._current = LoadedModel(checkpoint, version)
        self._pending = FairQueue()
        self._cancels: deque[Request] = deque()
        self._commands: deque[Command] = deque()
        self._groups: dict[LoadedModel, Group] = {}
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
        self.evicted = 0  # waiting requests refused to make room for a lighter key's
        self.refused_busy = 0  # requests refused at once, the queue being full

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

    def queue_depth_by_key(self) -> dict[Hashable, int]:
        """Requests waiting per key (the ``key`` given to :meth:`generate`)."""
        with self._cond:
            return self._pending.depth_by_key()

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
            model = LoadedModel(checkpoint, version)
        else:
            done: asyncio.Future[LoadedModel] = asyncio.get_running_loop().create_future()
            with self._cond:
                self._commands.append(Command(lambda: LoadedModel(checkpoint, version), done))
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
        key: Hashable | None = None,
        min_p: float | None = None,
    ) -> GenerationResult:
        """Continue ``seed`` by ``length`` characters with the current model.

        ``key`` says whose request it is (a user id): waiting requests are admitted
        round-robin across keys, and a full queue refuses the key with the most waiting
        first. None makes the request its own key (plain FIFO among such requests).

        Raises SeedError / SamplingError (bad input, before queueing), EngineBusy (queue
        full, now or later: a waiting request can be evicted for a lighter key's) and
        EngineStopped (not running).

        ``min_p`` (None: :data:`model.sample.DEFAULT_MIN_P`, the default setting; 0: off)
        drops characters less likely than that share of the most likely one. A
        checkpoint with an n-gram mixture is sampled from the mixture.
        """
        if not self._accepting:
            raise EngineStopped()
        min_p = DEFAULT_MIN_P if min_p is None else min_p
        check_params(temperature, length, top_k, min_p)
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
        request = Request(
            model,
            encoded,
            temperature,
            length,
            top_k or 0,
            rng_seed,
            loop.create_future(),
            key,
            min_p,
        )
        with self._cond:
            # Up to max_queue may wait beyond the rows the batch can still take.
            if len(self._pending) >= self.max_queue + max(0, self.max_batch - self._active):
                evicted = self._pending.evict_for(request.key)
                if evicted is None:
                    self.refused_busy += 1
                    raise EngineBusy()
                evicted.cancelled = True
                deliver(evicted, EngineBusy())
                self.evicted += 1
            self._pending.push(request)
            self._cond.notify()
        try:
            return await request.future
        except asyncio.CancelledError:
            request.cancelled = True
            with self._cond:
                if not self._pending.remove(request):  # already taken into the batch
                    self._cancels.append(request)
                self._cond.notify()
            raise
