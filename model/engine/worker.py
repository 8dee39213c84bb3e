"""The engine's worker thread and its loop: admit, drop, step, deliver.

A worker thread owns the model and the device. Callers' requests wait in a
:class:`model.engine.fair.FairQueue` (one turn per key per admission round); between two
steps the worker takes as many as the batch has room for, groups them per model version
(:class:`model.engine.batch.Group`) and steps every group until its rows finish. A
finished row's text is decoded and its coroutine resumed with ``call_soon_threadsafe``
(:func:`model.engine.requests.deliver`); a failing step or admission fails the rows of
that model only, and a worker that stops fails everything still held, so no caller
hangs. Swaps run on this thread too (:class:`model.engine.requests.Command`), between
two steps.

:class:`EngineWorker` is the worker half of :class:`model.engine.core.GenerationEngine`,
which owns the state named below and offers the async API.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import torch

from model.engine.batch import Group
from model.engine.fair import FairQueue
from model.engine.requests import (
    Command,
    EngineStopped,
    GenerationResult,
    LoadedModel,
    Request,
    deliver,
)
from model.errors import ModelError

log = logging.getLogger(__name__)


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


class EngineWorker:
    """The worker half of :class:`model.engine.core.GenerationEngine`."""

    max_batch: int
    use_cuda_graphs: bool
    num_threads: int | None
    _current: LoadedModel
    _pending: FairQueue
    _cancels: deque[Request]
    _commands: deque[Command]
    _groups: dict[LoadedModel, Group]
    _cond: threading.Condition
    _accepting: bool
    _halt: bool
    _active: int
    steps: int
    max_batch_seen: int
    completed: int
    chars_generated: int

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

    def _take_pending(self) -> list[Request]:
        """Under the lock: requests that fit in the batch, counted active *before* they
        leave the queue, so ``stop(drain=True)`` never sees them in neither place."""
        room = self.max_batch - self._active
        taken: list[Request] = []
        while self._pending and len(taken) < room:
            self._active += 1
            r = self._pending.pop()
            if r.cancelled:
                self._active -= 1
            else:
                taken.append(r)
        return taken

    def _group(self, model: LoadedModel) -> Group:
        group = self._groups.get(model)
        if group is None:
            group = self._groups[model] = Group(model, self.max_batch, self.use_cuda_graphs)
        return group

    def _admit(self, new: list[Request]) -> None:
        now = time.perf_counter()
        by_model: dict[LoadedModel, list[Request]] = {}
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
                        deliver(r, error())

    def _drop(self, cancels: list[Request]) -> None:
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
                    deliver(r, result)
            if not group.rows and model is not self._current:
                del self._groups[model]  # a retired model: free its buffers

    def _fail_group(self, group: Group, error: Callable[[], BaseException]) -> None:
        rows, group.rows = group.rows, []
        self._active -= len(rows)  # before the callers wake up
        for r in rows:
            r.slot = -1
            deliver(r, error())

    def _fail_everything(self) -> None:
        """After the worker is gone: every request still held gets EngineStopped."""

        def stopped() -> EngineStopped:
            return EngineStopped("the generator stopped before finishing this text.")

        for group in self._groups.values():
            self._fail_group(group, stopped)
        self._groups.clear()
        self._active = 0
        with self._cond:
            pending = self._pending.clear()
            self._cancels.clear()
            commands = list(self._commands)
            self._commands.clear()
        for r in pending:
            deliver(r, stopped())
        for command in commands:
            command.fail(EngineStopped("the generator stopped before the swap."))
