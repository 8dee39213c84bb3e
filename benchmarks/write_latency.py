"""One /write as its user sees it: the shipped model against the old 128-unit network.

    python -m benchmarks.write_latency [--writes 15] [--rounds 3] [--length 300]

``benchmarks.write_cost`` times the engine alone. This times what a user waits for: a
real bot (the python-telegram-bot ``Application`` polling the loopback Bot API over
HTTP, SQLite, the inbox, the handler, the engine, the reply) from the moment the
``/write`` update is queued on the server to the moment the reply arrives there. One
user sends ``--writes`` /write one after another (each waits for the previous reply),
so nothing queues behind anything else.

Two bots on the default corpus, at the bot's default sampling settings, texts of
``--length`` characters:

* "shipped": ``data/default-model.pt`` (LSTM 384 with its n-gram mixture), as served;
* "old": the old default network (embedding 32, LSTM 128, no mixture), random weights of
  the same alphabet (the cost does not depend on training).

The phases alternate ``--rounds`` times, so a machine whose load drifts weighs on both;
medians of every /write of a model, and their ratio, come from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.bot_load import CORPUS
from bot.runner import RunningBot
from model.checkpoint import Checkpoint, save_checkpoint
from model.network import CharGenerator
from model.shipped import SHIPPED_MODEL
from model.text import read_corpus
from model.vocab import Vocabulary
from tests.botapi import FakeBotApi
from tests.harness import TEST_TOKEN, make_settings

SEED = "في الصباح"
WARM_UP = 3  # first writes of a phase, not timed: first HTTP connections, first batch


def place_model(name: str, checkpoint: Path) -> None:
    """Put the model of phase ``name`` where the bot looks for its first model."""
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    if name == "shipped":
        shutil.copyfile(SHIPPED_MODEL, checkpoint)
        return
    torch.manual_seed(0)
    vocab = Vocabulary.from_text(read_corpus(CORPUS))
    save_checkpoint(Checkpoint(CharGenerator(len(vocab), 32, 128).eval(), vocab), checkpoint)


async def phase(name: str, writes: int, length: int) -> list[float]:
    """Seconds from each /write's update to its reply, one user, one at a time."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        place_model(name, workdir / "checkpoints" / "default.pt")
        (workdir / "corpus.txt").write_text(read_corpus(CORPUS), encoding="utf-8")
        async with FakeBotApi(TEST_TOKEN) as api:
            settings = make_settings(
                api, workdir, log_level="WARNING", default_length=length, shipped_model=""
            )
            bot = RunningBot(settings)
            await bot.start()
            try:
                user = api.user(30_000)
                latencies = []
                for i in range(WARM_UP + writes):
                    mark = api.mark(user.chat_id)
                    sent = time.monotonic()
                    await api.send_text(user, f"/write {SEED}")
                    [reply] = await api.wait_for_messages(user.chat_id, 1, since=mark)
                    if i >= WARM_UP:
                        latencies.append(reply.sent_at - sent)
            finally:
                await bot.stop()
    return latencies


async def run(writes: int, rounds: int, length: int) -> None:
    results: dict[str, list[float]] = {"old": [], "shipped": []}
    for _ in range(rounds):
        for name in results:
            results[name] += await phase(name, writes, length)
    medians = {name: statistics.median(lat) for name, lat in results.items()}
    print(f"one /write of {length} characters, update queued to reply received")
    print(f"{'model':<10}{'writes':>7}{'p50 ms':>10}{'min ms':>10}{'max ms':>10}")
    for name, lat in results.items():
        print(
            f"{name:<10}{len(lat):>7}{medians[name] * 1e3:>10.1f}"
            f"{min(lat) * 1e3:>10.1f}{max(lat) * 1e3:>10.1f}"
        )
    ratio = medians["shipped"] / medians["old"]
    print(f"shipped / old = {ratio:.2f}x (target <= 3: {'met' if ratio <= 3 else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writes", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--length", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(run(args.writes, args.rounds, args.length))


if __name__ == "__main__":
    main()
