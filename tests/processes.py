"""Start the end-to-end tests' ``python -m bot`` and ``python -m bot.trainer`` processes.

A fresh interpreter spends ~3 s of CPU importing torch, telegram and SQLAlchemy before
the bot does anything, and a run of the suite starts dozens of bots and trainers on two
cores. So the tests fork them from a warm ``model.fork_server`` (the one the bot starts
its training processes from) that has imported the bot too, one per xdist worker. The
child is a real process running the module's ``__main__`` with its own arguments,
environment, working directory, session and outputs, and it starts and ends as
``python -m`` would: the handlers of a new Python process, non-daemon threads joined and
atexit run on the way out (tests/test_fork_server.py pins each of these).

The tests that train through ``python -m model`` to check a recipe or a split do the
same (:func:`run_module`), as the bot's own training processes are started.

What only a fresh interpreter shows (its imports, the first lines of a start-up, a
setting refused before anything is imported) is tested by exec'ing one:
tests/test_startup.py, test_config.py, test_redaction.py, test_json_logs_e2e.py,
test_docs.py, test_model_cli.py (the CLI as a user runs it), and the trainers of
test_trainer_e2e.py (started through ``unshare``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
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


async def stop(proc: Process, sig: int = signal.SIGTERM, grace: float = 30) -> None:
    """``sig`` to ``proc`` unless it has ended, ``grace`` seconds to end, then SIGKILL."""
    if proc.returncode is None:
        proc.send_signal(sig)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        proc.kill()
        await proc.wait()


def run_module(
    module: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """What ``subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
    text=True, timeout=timeout)`` returns, forked warm. For tests without an event loop."""

    async def run() -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", module, *args]
        proc = await start_module(module, *args, cwd=os.getcwd(), env=env or dict(os.environ))
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise subprocess.TimeoutExpired(command, timeout) from None
        assert proc.returncode is not None
        return subprocess.CompletedProcess(
            command, proc.returncode, (out or b"").decode(), (err or b"").decode()
        )

    return asyncio.run(run())
