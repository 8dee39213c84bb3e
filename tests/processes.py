"""Start the end-to-end tests' ``python -m bot`` and ``python -m bot.trainer`` processes.

A fresh interpreter spends ~3 s of CPU importing torch, telegram and SQLAlchemy before
the bot does anything, and a run of the suite starts dozens of bots and trainers on two
cores. So the tests fork them from a warm ``model.fork_server`` (the one the bot starts
its training processes from) that has imported the bot too, one per xdist worker. The
child is a real process running the module's ``__main__`` with its own arguments,
environment, working directory, session and outputs, and it starts and ends as
``python -m`` would: the handlers of a new Python process, non-daemon threads joined and
atexit run on the way out (tests/test_fork_server.py pins each of these).

What only a fresh interpreter shows (its imports, the first lines of a start-up, a
setting refused before anything is imported) is tested by exec'ing one:
tests/test_startup.py, test_config.py, test_redaction.py, test_json_logs_e2e.py,
test_docs.py, and the trainers of test_trainer_e2e.py (started through ``unshare``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from model.fork_client import ForkedProcess, ForkServer, Output, fork_child

# What ``python -m bot`` and ``python -m bot.trainer`` import before they serve.
PRELOAD = (
    "bot.__main__",
    "bot.runner",
    "bot.ops.startup",
    "bot.settings.logging_setup",
    "bot.trainer.__main__",
    "bot.trainer.service",
    "bot.metrics.http",
    "bot.storage.database",
)

# Either kind of child: forked warm here, or exec'd fresh by the tests that need one.
Process = asyncio.subprocess.Process | ForkedProcess

SERVER = ForkServer(
    command=[sys.executable, "-m", "model.fork_server", *(f"--preload={m}" for m in PRELOAD)]
)


async def start_module(
    module: str,
    *args: str,
    cwd: str | Path,
    env: dict[str, str],
    stdout: Output = asyncio.subprocess.PIPE,
    stderr: Output = asyncio.subprocess.PIPE,
) -> ForkedProcess:
    """``python -m module *args`` in ``cwd`` with exactly ``env``, forked warm.

    Its torch threads are what a fresh process would take: OMP_NUM_THREADS (the suite's
    workers set 1), else one per CPU."""
    threads = int(env.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
    return await fork_child(
        [module, *args], env=env, threads=threads, cwd=cwd, stdout=stdout, stderr=stderr,
        server=SERVER,
    )  # fmt: skip
