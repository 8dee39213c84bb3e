"""A real ``python -m bot`` process for the benchmarks that compare source trees."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.botapi import FakeBotApi

READY_S = 300.0  # start-up: imports, migrations, loading the model
STOP_S = 60.0


@asynccontextmanager
async def bot_process(
    api: FakeBotApi, workdir: Path, env: dict[str, str]
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m bot`` in ``workdir`` with ``env`` (its log in ``workdir/bot.log``),
    yielded once it has registered its commands with ``api``; stopped with SIGTERM."""
    with (workdir / "bot.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=workdir, env=env, stdout=log, stderr=log
        )
    try:
        await api.wait_for(lambda: api.calls_to("setMyCommands") or None, READY_S, "ready")
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), STOP_S)
