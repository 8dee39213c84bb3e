"""A trainer's progress, written into the run's row for the bot replicas to show.

Writes are throttled (one per ``interval_s``, plus the final step) so a fast training
does not turn into a stream of UPDATEs; the history kept is what the loss-curve
picture needs. Progress is best effort: a failed write is logged and the next one
carries the newer state, so a database hiccup never fails a training.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from bot.storage import Storage
from bot.training.judge import Verdict
from bot.training.retry import describe, retry

log = logging.getLogger(__name__)

HISTORY_KEYS = ("step", "total_steps", "train_loss", "val_loss", "eta_s", "event")


class ProgressWriter:
    def __init__(self, storage: Storage, run_id: int, owner: str, interval_s: float = 1.0) -> None:
        self.storage, self.run_id, self.owner = storage, run_id, owner
        self.interval_s = interval_s
        self.last: dict[str, Any] | None = None
        self.history: list[dict[str, Any]] = []
        self.verdict: dict[str, Any] | None = None
        self._written = 0.0

    def snapshot(self) -> dict[str, Any]:
        return {"last": self.last, "history": self.history, "verdict": self.verdict}

    async def on_event(self, event: dict[str, Any]) -> None:
        if event.get("event") != "progress":
            return
        self.last = {k: event[k] for k in HISTORY_KEYS if k in event}
        self.history.append(self.last)
        final = event.get("step") == event.get("total_steps")
        if final or time.monotonic() - self._written >= self.interval_s:
            await self.write()

    async def on_judged(self, verdict: Verdict) -> None:
        self.verdict = dataclasses.asdict(verdict)
        await retry(self.write, "recording the verdict", attempts=5)

    async def write(self) -> None:
        self._written = time.monotonic()
        try:
            await self.storage.save_progress(self.run_id, self.owner, self.snapshot())
        except Exception as exc:
            log.warning("run %d: progress not recorded: %s", self.run_id, describe(exc))
