"""The real bot under load through the loopback Bot API server (CPU figures).

    python -m benchmarks.bot_load burst [--users 200]     # engine row 4: one /write each
    python -m benchmarks.bot_load retrain [--users 40]    # /write latency with and without
                                                          # a training in the background
    python -m benchmarks.bot_load flood [--users 50 --flood 200]
                                        # 50 users' /write latency with and without one user
                                        # sending 200 /write in the same second
    python -m benchmarks.bot_load replicas [--users 100 --rounds 3]
                                        # one vs two real `python -m bot`
                                        # replicas behind nginx on PostgreSQL (needs
                                        # TEST_POSTGRES_URL and nginx), and their CPU
                                        # time per update

Each /write is timed from the moment the update is queued on the fake server to the
moment the bot's reply arrives there, so it includes long polling, the handler, the
database and the HTTP round trips. Latencies of both phases come from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from bot.runner import RunningBot
from bot.settings.config import Settings
from bot.storage.session import percentile as sorted_percentile
from model.checkpoint import Checkpoint, save_checkpoint
from model.network import CharGenerator
from model.text import read_corpus
from model.vocab import Vocabulary
from tests.botapi import FakeBotApi, FakeUser
from tests.harness import ADMIN_ID, TEST_TOKEN, make_settings

CORPUS = Path("data/arabic_text.txt")


def percentile(values: list[float], p: float) -> float:
    return sorted_percentile(sorted(values), p)


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


@dataclass(frozen=True)
class Burst:
    latencies: list[float]  # seconds, each user's send to their reply
    wall: float  # seconds, first send to last reply


async def burst(api: FakeBotApi, users: list[FakeUser], seed: str = "في الصباح") -> Burst:
    """Every user sends one /write at once; each reply's latency, and the burst's wall time.

    The server stamps each bot message with ``time.monotonic()`` when it arrives, so one
    waiter for the whole burst suffices (200 separate waiters, each woken by every
    server event, would themselves slow the event loop being measured).
    """
    marks = {u.id: api.mark(u.chat_id) for u in users}
    sent: dict[int, float] = {}
    for u in users:
        sent[u.id] = time.monotonic()
        await api.send_text(u, f"/write {seed}")

    def all_answered() -> bool:
        return all(len(api.messages_to(u.chat_id)) > marks[u.id] for u in users)

    await api.wait_for(all_answered, timeout=300, description="every user's reply")
    await asyncio.sleep(0.2)  # a duplicate reply would arrive by now
    latencies: list[float] = []
    last_reply = 0.0
    for u in users:
        replies = api.messages_to(u.chat_id)[marks[u.id] :]
        assert len(replies) == 1, f"user {u.id} got {len(replies)} replies"
        latencies.append(replies[0].sent_at - sent[u.id])
        last_reply = max(last_reply, replies[0].sent_at)
    return Burst(latencies, last_reply - min(sent.values()))


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
                result = await burst(api, users)
                lat, wall = result.latencies, result.wall
            finally:
                await bot.stop()
    print(HEADER)
    print(row(f"{n_users} users, one /write each", lat))
    print(f"answered {len(lat)}/{n_users}, none twice; first send to last reply {wall:.2f}s")


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
                    idle += (await burst(api, users)).latencies
                admin = api.user(ADMIN_ID)
                await api.send_document(
                    admin, "corpus.txt", CORPUS.read_bytes(), caption="/retrain"
                )
                while services.retrain.current is None or services.retrain.current.last is None:
                    await asyncio.sleep(0.05)
                busy: list[float] = []
                for _ in range(rounds):
                    busy += (await burst(api, users)).latencies
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


async def spread(api: FakeBotApi, sends: list[tuple[FakeUser, str]], seconds: float) -> list[float]:
    """Send ``sends`` evenly over ``seconds``; the monotonic time of each send."""
    start = time.monotonic()
    times: list[float] = []
    for i, (user, text) in enumerate(sends):
        delay = start + seconds * i / len(sends) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        times.append(time.monotonic())
        await api.send_text(user, text)
    return times


@dataclass(frozen=True)
class Phase:
    latencies: list[float]
    busy: int


async def first_replies(
    api: FakeBotApi, users: list[FakeUser], sent: dict[int, float], marks: dict[int, int]
) -> Phase:
    def all_answered() -> bool:
        return all(len(api.messages_to(u.chat_id)) > marks[u.id] for u in users)

    await api.wait_for(all_answered, timeout=600, description="every user's reply")
    firsts = [api.messages_to(u.chat_id)[marks[u.id]] for u in users]
    busy = sum("busy" in (m.text or "") for m in firsts)
    return Phase([m.sent_at - sent[u.id] for u, m in zip(users, firsts, strict=True)], busy)


async def run_flood(n_users: int, n_flood: int) -> None:
    """The issue's scenario with the production defaults (rate limiting and per-user
    limits on): the same users' latency without, then with, one user's flood."""
    seed = "/write في الصباح"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepare(workdir)
        async with FakeBotApi(TEST_TOKEN) as api:
            settings = make_settings(
                api, workdir, log_level="WARNING", rate_limit=True,
                user_max_pending=Settings.model_fields["user_max_pending"].default,
                user_rate_per_minute=Settings.model_fields["user_rate_per_minute"].default,
            )  # fmt: skip
            bot = RunningBot(settings)
            await bot.start()
            try:
                users = [api.user(30_000 + i) for i in range(n_users)]
                flooder = api.user(39_999)
                await burst(api, [api.user(31_000 + i) for i in range(5)])  # warm-up
                marks = {u.id: api.mark(u.chat_id) for u in users}
                times = await spread(api, [(u, seed) for u in users], 1.0)
                alone = await first_replies(
                    api, users, {u.id: t for u, t in zip(users, times, strict=True)}, marks
                )
                await asyncio.sleep(3.0)  # let every chat's pacing window empty
                marks = {u.id: api.mark(u.chat_id) for u in users}
                mixed: list[tuple[FakeUser, str]] = [(flooder, seed)] * n_flood
                step = max(1, n_flood // n_users)
                for i, u in enumerate(users):  # the others interleaved through the second
                    mixed.insert(i * (step + 1), (u, seed))
                times = await spread(api, mixed, 1.0)
                sent = {u.id: t for (u, _), t in zip(mixed, times, strict=True) if u is not flooder}
                flooded = await first_replies(api, users, sent, marks)
                await asyncio.sleep(3.0)
                to_flooder = api.messages_to(flooder.chat_id)
                texts = sum((m.raw_text or "").startswith("في") for m in to_flooder)
            finally:
                await bot.stop()
    print(f"{HEADER}{'busy':>8}")
    print(f"{row(f'{n_users} users, no flood', alone.latencies)}{alone.busy:>8}")
    print(
        f"{row(f'{n_users} users, one user sends {n_flood}', flooded.latencies)}{flooded.busy:>8}"
    )
    p50 = statistics.median(flooded.latencies) / statistics.median(alone.latencies)
    p99 = percentile(flooded.latencies, 99) / percentile(alone.latencies, 99)
    print(f"ratio with/without the flood: p50 {p50:.2f}x, p99 {p99:.2f}x (target p99 <= 2)")
    print(
        f"the flooder: {texts} texts and {len(to_flooder) - texts} other replies "
        f"to {n_flood} /write"
    )


# --- replicas behind nginx


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ReplicaRun:
    replicas: int
    latencies: list[float]
    wall: float  # seconds, summed over the rounds
    updates: int
    cpu: float  # seconds of the replicas' CPU over the rounds
    driver_cpu: float  # seconds of this process's CPU (the fake Telegram) over the rounds
    spread: dict[str, int]


async def measure_replicas(n: int, n_users: int, rounds: int) -> ReplicaRun:
    from tests.cluster import running_cluster, upstreams
    from tests.postgres import fresh_postgres_database

    env = {
        # What is measured is the bot's own cost per update: no outgoing pacing (which
        # would make the 30 messages/s budget the whole story) and no per-user limits.
        "RATE_LIMIT": "false",
        "USER_MAX_PENDING": "0",
        "USER_RATE_PER_MINUTE": "0",
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepare(workdir)
        async with (
            fresh_postgres_database("bench_replicas") as url,
            FakeBotApi(TEST_TOKEN) as api,
        ):
            api.webhook_concurrency = 40  # Telegram's default max_connections
            async with running_cluster(workdir, api, url, replicas=n, env=env) as cluster:
                pids = [r.proc.pid for r in cluster.replicas if r.proc is not None]
                await burst(api, [api.user(41_000 + i) for i in range(10)])  # warm-up
                users = [api.user(40_000 + i) for i in range(n_users)]
                cpu_before = sum(process_cpu_seconds(pid) for pid in pids)
                driver_before = time.process_time()
                latencies: list[float] = []
                wall = 0.0
                for _ in range(rounds):
                    result = await burst(api, users)
                    latencies += result.latencies
                    wall += result.wall
                cpu = sum(process_cpu_seconds(pid) for pid in pids) - cpu_before
                driver_cpu = time.process_time() - driver_before
                spread = dict(upstreams(workdir))
    return ReplicaRun(n, latencies, wall, n_users * rounds, cpu, driver_cpu, spread)


async def run_replicas(n_users: int, rounds: int) -> None:
    runs = [await measure_replicas(n, n_users, rounds) for n in (1, 2)]
    print(f"{HEADER}{'upd/s':>8}{'CPU ms/upd':>12}{'fake TG ms/upd':>16}")
    for run in runs:
        name = f"{run.replicas} replica(s), {n_users} users x {rounds}"
        throughput = run.updates / run.wall
        print(
            f"{row(name, run.latencies)}{throughput:>8.1f}{run.cpu / run.updates * 1e3:>12.1f}"
            f"{run.driver_cpu / run.updates * 1e3:>16.1f}"
        )
    one, two = runs
    speedup = (two.updates / two.wall) / (one.updates / one.wall)
    print(
        f"two vs one replica: throughput {speedup:.2f}x,"
        f" p50 {statistics.median(two.latencies) / statistics.median(one.latencies):.2f}x,"
        f" p99 {percentile(two.latencies, 99) / percentile(one.latencies, 99):.2f}x"
    )
    print(f"updates per replica with two (nginx access log, incl. warm-up): {two.spread}")
    per_update = max(one.cpu / one.updates, two.cpu / two.updates)
    print(
        f"CPU per update (replica processes only): {per_update * 1e3:.1f} ms, so one busy "
        f"core serves at most ~{1 / per_update:.0f} /write per second"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    b = sub.add_parser("burst")
    b.add_argument("--users", type=int, default=200)
    r = sub.add_parser("retrain")
    r.add_argument("--users", type=int, default=40)
    r.add_argument("--rounds", type=int, default=3)
    f = sub.add_parser("flood")
    f.add_argument("--users", type=int, default=50)
    f.add_argument("--flood", type=int, default=200)
    c = sub.add_parser("replicas")
    c.add_argument("--users", type=int, default=100)
    c.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu")
    if args.what == "burst":
        asyncio.run(run_burst(args.users))
    elif args.what == "flood":
        asyncio.run(run_flood(args.users, args.flood))
    elif args.what == "replicas":
        asyncio.run(run_replicas(args.users, args.rounds))
    else:
        asyncio.run(run_retrain(args.users, args.rounds))


if __name__ == "__main__":
    main()
