"""First start to serving, on a CPU: a real ``python -m bot`` on an empty data directory.

    python -m benchmarks.first_start [--runs 3]

Each run starts ``python -m bot`` as a subprocess with the shipped default model
(``data/default-model.pt``) and the default corpus, against the loopback Bot API, and
times from the process's start to the first reply to a ``/write`` (so it includes
Python's and torch's imports, migrations, checking and registering the shipped model,
and one generation). The control is the same start with the model already registered
(a second start on the same data directory): the difference is what the first start
costs on top of any start.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from model.shipped import SHIPPED_MODEL
from tests.botapi import FakeBotApi
from tests.harness import TEST_TOKEN

CORPUS = Path("data/arabic_text.txt").resolve()
REPLY_TIMEOUT_S = 120.0
LOG = Path(tempfile.gettempdir()) / "first_start.log"  # the bots' stderr, for a failed run


async def one_start(api: FakeBotApi, workdir: Path) -> float:
    """Seconds from launching ``python -m bot`` in ``workdir`` to its first /write reply.

    Both starts on one data directory share ``api``: its update ids go on rising, as
    Telegram's do, so the second start's update is not taken for a redelivery."""
    env = {
        **os.environ,
        "BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_URL": api.base_url.removesuffix("/bot"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bot.db'}",
        "CHECKPOINT_DIR": str(workdir / "checkpoints"),
        "CORPUS_DIR": str(workdir / "corpora"),
        "CORPUS_PATH": str(CORPUS),
        "SHIPPED_MODEL": str(SHIPPED_MODEL),
        "DEVICE": "cpu",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    }
    user = api.user(9001, "Bench")
    since = api.mark(user.chat_id)
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=workdir, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=LOG.open("ab"),
    )  # fmt: skip
    try:
        await api.send_text(user, "/write كان البحر")
        await api.wait_for_messages(user.chat_id, 1, REPLY_TIMEOUT_S, since=since)
        return time.perf_counter() - started
    finally:
        process.terminate()
        await process.wait()


async def main(runs: int) -> None:
    first: list[float] = []
    again: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            async with FakeBotApi(TEST_TOKEN) as api:
                first.append(await one_start(api, Path(tmp)))
                again.append(await one_start(api, Path(tmp)))
    print(f"first start to the first reply (shipped model): {statistics.median(first):.1f} s")
    print(f"a later start to the first reply (control):     {statistics.median(again):.1f} s")
    print(f"first start / later start: {statistics.median(first) / statistics.median(again):.2f}")
    print(
        f"runs: {runs}; first {[round(x, 1) for x in first]}, later {[round(x, 1) for x in again]}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args().runs))
