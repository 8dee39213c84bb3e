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

Admission is fair across keys (users): waiting requests sit in one queue per key and the
worker takes them round-robin (:mod:`model.engine.fair`), so one key's backlog delays
another key's first request by at most one admission round; when the queue is full, the
key with the most waiting requests loses its newest one first.

Modules: :mod:`~model.engine.core` (the API), :mod:`~model.engine.worker` (the worker
thread and its loop), :mod:`~model.engine.fair` (the scheduler),
:mod:`~model.engine.batch` (rows in and out, steps, CUDA graphs),
:mod:`~model.engine.buffers` (the rows' device tensors), :mod:`~model.engine.noise` (the
eager step's noise), :mod:`~model.engine.requests` (requests, results, errors).
"""

from model.engine.core import GenerationEngine
from model.engine.requests import (
    MAX_SEED_CHARS,
    EngineBusy,
    EngineStopped,
    GenerationResult,
    Version,
)

__all__ = [
    "MAX_SEED_CHARS",
    "EngineBusy",
    "EngineStopped",
    "GenerationEngine",
    "GenerationResult",
    "Version",
]
