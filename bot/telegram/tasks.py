"""Stopping a background loop for certain.

``task.cancel()`` asks once. A loop that is inside a library call when the request
arrives can lose it: a database driver or HTTP client that turns the cancellation into an
error of its own, caught by the loop's ``except Exception`` and retried, leaves the loop
running and whoever awaits it waiting forever (a shutdown that never ends). So the
cancellation is repeated until the task has ended; loops also check a stopping flag of
their own, so that even a lost request ends them at their next turn.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

# How long a cancelled task gets before it is asked again. Generous: a loop cancelled in
# the middle of a database call still rolls back and returns its connection, and a second
# cancellation landing in that clean-up (seen under load with 1 s) leaves the pool
# logging an error, which the admins receive as an alert.
RECANCEL_EVERY_S = 10.0


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has ended, asking again while it runs on."""
    asked = 0
    while not task.done():
        task.cancel()
        asked += 1
        await asyncio.wait({task}, timeout=RECANCEL_EVERY_S)
    if asked > 1:
        log.warning("task %s ignored %d cancellation(s) before it ended", task.get_name(),
                    asked - 1)  # fmt: skip
    if not task.cancelled() and task.exception() is not None:
        log.warning("task %s ended with an error while stopping: %s", task.get_name(),
                    task.exception())  # fmt: skip
