"""The real bot under load through the loopback Bot API server (CPU figures).

    python -m benchmarks.bot_load burst [--users 200]     # engine row 4: one /write each
    python -m benchmarks.bot_load retrain [--users 40]    # /write latency with and without
                                                          # a training in the background

Each /write is timed from the moment the update is queued on the fake server to the
moment the bot's reply arrives there, so it includes long polling, the handler, the
database and the HTTP round trips. Latencies of both phases come from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import torch

from bot.runner import RunningBot
from model.checkpoint import Checkpoint, save_checkpoint
from model.network import CharGenerator
from model.text import read_corpus
from model.vocab import Vocabulary
from tests.botapi import FakeBotApi, FakeUser
from tests.harness import ADMIN_ID, TEST_TOKEN, make_settings

CORPUS = Path("data/arabic_text.txt")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def prepare(workdir: Path) -> None:
    """A reference-size model (embed 32, hidden 128) on the default corpus's alphabet.

    Random weights: what is measured is serving cost, which training does not change.
    """
    text = read_corpus(CORPUS)
    torch.manual_seed(0)
    vocab = Vocabulary.from_text(text)
    model = CharGenerator(len(vocab)).eval()
    save_checkpoint(Checkpoint(model, vocab), workdir / "checkpoints" / "default.pt")
    (workdir / "corpus.txt").write_text(text, encoding="utf-8")


async def burst(api: FakeBotApi, users: list[FakeUser], seed: str = "في الصباح") -> list[float]:
    """Every user sends one /write at once; returns each reply's latency in seconds."""
    marks = {u.id: api.mark(u.chat_id) for u in users}
    sent: dict[int, float] = {}
    for u in users:
        sent[u.id] = time.perf_counter()
        await api.send_text(u, f"/write {seed}")
    latencies: list[float] = []

    async def wait_timed(u: FakeUser) -> None:
        await api.wait_for_messages(u.chat_id, 1, timeout=300, since=marks[u.id])
        latencies.append(time.perf_counter() - sent[u.id])

    await asyncio.gather(*(wait_timed(u) for u in users))
    for u in users:
        extra = len(api.messages_to(u.chat_id)) - marks[u.id]
        assert extra == 1, f"user {u.id} got {extra} replies"
    return latencies


def row(name: str, lat: list[float]) -> str:
    return (
        f"{name:<34}{len(lat):>6}{statistics.median(lat) * 1e3:>10.0f}"
        f"{percentile(lat, 99) * 1e3:>10.0f}{max(lat) * 1e3:>10.0f}"
    )


HEADER = f"{'phase':<34}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}"


async def run_burst(n_users: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepare(workdir)
        async with FakeBotApi(TEST_TOKEN) as api:
            bot = RunningBot(make_settings(api, workdir, log_level="WARNING"))
            await bot.start()
            try:
                users = [api.user(10_000 + i) for i in range(n_users)]
                await burst(api, users[:5])  # warm-up: first HTTP connections, first batch
                started = time.perf_counter()
                lat = await burst(api, users)
                wall = time.perf_counter() - started
            finally:
                await bot.stop()
    print(HEADER)
    print(row(f"{n_users} users, one /write each", lat))
    print(f"answered {len(lat)}/{n_users}, none twice; burst wall time {wall:.2f}s")


async def run_retrain(n_users: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepare(workdir)
        async with FakeBotApi(TEST_TOKEN) as api:
            settings = make_settings(api, workdir, log_level="WARNING", retrain_steps=1_000_000)
            bot = RunningBot(settings)
            await bot.start()
            services = bot.application.bot_data["services"]
            try:
                users = [api.user(20_000 + i) for i in range(n_users)]
                await burst(api, users[:5])
                idle: list[float] = []
                for _ in range(rounds):
                    idle += await burst(api, users)
                admin = api.user(ADMIN_ID)
                await api.send_document(
                    admin, "corpus.txt", CORPUS.read_bytes(), caption="/retrain"
                )
                while services.retrain.current is None or services.retrain.current.last is None:
                    await asyncio.sleep(0.05)
                busy: list[float] = []
                for _ in range(rounds):
                    busy += await burst(api, users)
                    assert services.retrain.running, "training ended before the measurement"
                await services.retrain.cancel()
            finally:
                await bot.stop()
    print(HEADER)
    print(row("no training", idle))
    print(row("training in the background", busy))
    p50 = statistics.median(busy) / statistics.median(idle)
    p99 = percentile(busy, 99) / percentile(idle, 99)
    print(f"ratio with/without training: p50 {p50:.2f}x, p99 {p99:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    b = sub.add_parser("burst")
    b.add_argument("--users", type=int, default=200)
    r = sub.add_parser("retrain")
    r.add_argument("--users", type=int, default=40)
    r.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu")
    if args.what == "burst":
        asyncio.run(run_burst(args.users))
    else:
        asyncio.run(run_retrain(args.users, args.rounds))


if __name__ == "__main__":
    main()
