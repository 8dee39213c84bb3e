"""One /write as its user sees it: the shipped model against the old 128-unit network.

    git worktree add /tmp/today 5cda427     # the code and defaults before the new model
    python -m benchmarks.write_latency [--today /tmp/today] [--writes 15] [--rounds 3]
                                       [--length 300]

``benchmarks.write_cost`` times the engine alone. This times what a user waits for: a
real ``python -m bot`` process (python-telegram-bot polling the loopback Bot API in
this process over HTTP, SQLite, the handler, the engine, the reply) from the moment
the ``/write`` update is queued on the server to the moment the reply arrives there.
One user sends ``--writes`` /write one after another (each waits for the previous
reply), so nothing queues behind anything else. Texts of ``--length`` characters from
the default corpus's alphabet; each phase on a fresh data directory:

* "shipped": this tree, ``data/default-model.pt`` (LSTM 384 with its n-gram mixture),
  at the bot's default sampling settings;
* "old net": this tree, the old default network (embedding 32, LSTM 128, no mixture;
  random weights of the same alphabet: the cost does not depend on training);
* "today" (with ``--today``): the tree given (the code as it was before the new model,
  with its own defaults: temperature 0.8, no cut-off) serving that same old network:
  the /write users had.

The phases alternate ``--rounds`` times, so a machine whose load drifts weighs on all;
medians of every /write of a phase, and the ratios, come from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.bot_load import CORPUS
from benchmarks.process import bot_process
from model.checkpoint import Checkpoint, save_checkpoint
from model.network import CharGenerator
from model.shipped import SHIPPED_MODEL
from model.text import read_corpus
from model.vocab import Vocabulary
from tests.botapi import FakeBotApi
from tests.harness import TEST_TOKEN, process_env

SEED = "في الصباح"
WARM_UP = 3  # first writes of a phase, not timed: first HTTP connections, first batch
THIS_TREE = Path(__file__).resolve().parents[1]


def place_model(shipped: bool, checkpoint: Path) -> None:
    """Put the phase's model where the bot looks for its first one."""
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    if shipped:
        shutil.copyfile(SHIPPED_MODEL, checkpoint)
        return
    torch.manual_seed(0)
    vocab = Vocabulary.from_text(read_corpus(CORPUS))
    save_checkpoint(Checkpoint(CharGenerator(len(vocab), 32, 128).eval(), vocab), checkpoint)


async def phase(tree: Path, shipped: bool, writes: int, length: int) -> list[float]:
    """Seconds from each /write's update to its reply, one user, one at a time."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        place_model(shipped, workdir / "checkpoints" / "default.pt")
        (workdir / "corpus.txt").write_text(read_corpus(CORPUS), encoding="utf-8")
        async with FakeBotApi(TEST_TOKEN) as api:
            env = {
                **os.environ,
                **process_env(
                    api,
                    workdir,
                    PYTHONPATH=str(tree),  # that tree's bot and model, ahead of any other
                    DEFAULT_LENGTH=str(length),
                    LOG_LEVEL="WARNING",
                ),
            }
            async with bot_process(api, workdir, env):
                user = api.user(30_000)
                latencies = []
                for i in range(WARM_UP + writes):
                    mark = api.mark(user.chat_id)
                    sent = time.monotonic()
                    await api.send_text(user, f"/write {SEED}")
                    [reply] = await api.wait_for_messages(user.chat_id, 1, since=mark)
                    if i >= WARM_UP:
                        latencies.append(reply.sent_at - sent)
    return latencies


async def run(today: Path | None, writes: int, rounds: int, length: int) -> None:
    phases: dict[str, tuple[Path, bool]] = {
        "shipped": (THIS_TREE, True),
        "old net": (THIS_TREE, False),
    }
    if today is not None:
        phases["today"] = (today, False)
    results: dict[str, list[float]] = {name: [] for name in phases}
    for _ in range(rounds):
        for name, (tree, shipped) in phases.items():
            results[name] += await phase(tree, shipped, writes, length)
    medians = {name: statistics.median(lat) for name, lat in results.items()}
    print(f"one /write of {length} characters, update queued to reply received")
    print(f"{'phase':<10}{'writes':>7}{'p50 ms':>10}{'min ms':>10}{'max ms':>10}")
    for name, lat in results.items():
        print(
            f"{name:<10}{len(lat):>7}{medians[name] * 1e3:>10.1f}"
            f"{min(lat) * 1e3:>10.1f}{max(lat) * 1e3:>10.1f}"
        )
    for control in ("old net", "today"):
        if control in medians:
            ratio = medians["shipped"] / medians[control]
            verdict = "met" if ratio <= 3 else "NOT met"
            print(f"shipped / {control} = {ratio:.2f}x (target <= 3: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--today", type=Path, help="a checkout of the code before the new model")
    parser.add_argument("--writes", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--length", type=int, default=300)
    args = parser.parse_args()
    today = args.today.resolve() if args.today else None
    asyncio.run(run(today, args.writes, args.rounds, args.length))


if __name__ == "__main__":
    main()
