"""What travels between callers and the engine's worker thread: requests, results, errors.

A :class:`Request` is created in the caller's coroutine and resolved from the worker
thread with ``call_soon_threadsafe`` (:func:`resolve`), so the worker never touches an
event loop directly. :class:`Command` carries other work (a model swap) to the worker,
run between two steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from model.checkpoint import Checkpoint
from model.errors import ModelError
from model.inference import StepWeights
from model.mixture import ServingTables
from model.vocab import SeedEncoding, Vocabulary

Version = int | str

MAX_SEED_CHARS = 10_000  # per row the seed lives in a padded device buffer


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


class LoadedModel:
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
        # The n-gram mixed in per character, when the checkpoint has one.
        self.tables: ServingTables | None = None
        if checkpoint.mixture is not None:
            self.tables = ServingTables(checkpoint.mixture, self.vocab, self.device)


class Request:
    """One generate() call, from the queue to its row in the batch and back."""

    __slots__ = (
        "cancelled",
        "encoded",
        "enqueued",
        "future",
        "gen0",
        "key",
        "length",
        "min_p",
        "model",
        "rng_seed",
        "slot",
        "started",
        "temperature",
        "top_k",
    )

    def __init__(
        self,
        model: LoadedModel,
        encoded: SeedEncoding,
        temperature: float,
        length: int,
        top_k: int,
        rng_seed: int,
        future: asyncio.Future[GenerationResult],
        key: Hashable | None = None,
        min_p: float = 0.0,
    ) -> None:
        self.model = model
        # Whose request this is, for fair admission; None: the request is its own key.
        self.key: Hashable = self if key is None else key
        self.encoded = encoded
        self.temperature = temperature
        self.length = length
        self.top_k = top_k
        self.min_p = min_p
        self.rng_seed = rng_seed
        self.future = future
        self.enqueued = time.perf_counter()
        self.started = 0.0
        self.slot = -1  # row in its group while running
        self.gen0 = 0  # the group step that draws the first character
        self.cancelled = False


def settle(future: asyncio.Future[Any], value: object) -> None:
    if future.done():  # the caller gave up
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)


def resolve(future: asyncio.Future[Any], value: object) -> None:
    """Resolve a future from any thread."""
    with contextlib.suppress(RuntimeError):  # its event loop is closed: nobody is waiting
        future.get_loop().call_soon_threadsafe(settle, future, value)


def deliver(request: Request, value: GenerationResult | BaseException) -> None:
    resolve(request.future, value)


class Command:
    """Work for the worker thread between two steps, with a future for its result."""

    def __init__(self, run: Callable[[], object], future: asyncio.Future[Any]) -> None:
        self.run_fn, self.future = run, future

    def run(self) -> None:
        try:
            value = self.run_fn()
        except Exception as exc:
            value = exc
        resolve(self.future, value)

    def fail(self, error: BaseException) -> None:
        resolve(self.future, error)
