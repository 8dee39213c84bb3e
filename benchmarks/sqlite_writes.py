"""SQLite under a burst of mixed actions: the bot as it is, next to the bot before.

    git worktree add /tmp/before 04f2bc1    # the code before the inbox and the single writer
    python -m benchmarks.sqlite_writes --before /tmp/before [--users 200] [--busy-timeout 2]
                                       [--rounds 2]

Each user first gets one text (not timed), then every user at once sends ``/write``,
presses "colder" under that text, sends ``/temp 0.9`` and ``/length 200``: four
actions, each answered with one message. Each phase is a real ``python -m bot``
process (polling) started from a source tree, on a fresh SQLite database with the same
busy timeout, against the loopback Bot API in this process: "before" runs the tree given
with ``--before``, "now" this one. Both serve the same tiny model (random weights, a
hidden size of 16) and write short texts, so what is measured is the bot's database
work, not the network's arithmetic. Reported per phase: replies that were "something
went wrong", and the latency of every reply from the moment its user's four actions
were sent (p50, p95, max), then p95 now / p95 before. The phases alternate, ``--rounds``
times each, so a shared machine's load drifting during the run weighs on both. A user
whose untimed first text was already an apology has no button to press: that counts as
one error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.bot_load import CORPUS, percentile
from benchmarks.process import bot_process
from model.checkpoint import Checkpoint, save_checkpoint
from model.network import CharGenerator
from model.text import read_corpus
from model.vocab import Vocabulary
from tests.botapi import FakeBotApi
from tests.harness import TEST_TOKEN, process_env

SEED = "في الصباح"
ACTIONS = 4  # /write, a button press, /temp, /length
APOLOGY = "something went wrong"  # the English apology, in both trees
TEXT_LENGTH = 40  # characters per generated text: the engine's share stays small
HIDDEN = 16  # a tiny network, for the same reason
THIS_TREE = Path(__file__).resolve().parents[1]


def prepare(workdir: Path) -> None:
    """A tiny model on the default corpus's alphabet, and that corpus."""
    text = read_corpus(CORPUS)
    torch.manual_seed(0)
    vocab = Vocabulary.from_text(text)
    model = CharGenerator(len(vocab), embed_size=8, hidden_size=HIDDEN).eval()
    save_checkpoint(Checkpoint(model, vocab), workdir / "checkpoints" / "default.pt")
    (workdir / "corpus.txt").write_text(text, encoding="utf-8")


def bot_env(api: FakeBotApi, workdir: Path, tree: Path, busy_timeout_s: float) -> dict[str, str]:
    return {
        **os.environ,
        **process_env(
            api,
            workdir,
            PYTHONPATH=str(tree),  # that tree's bot and model, ahead of the installed ones
            SQLITE_BUSY_TIMEOUT_S=str(busy_timeout_s),
            USER_MAX_PENDING="0",
            USER_RATE_PER_MINUTE="0",
            DEFAULT_LENGTH=str(TEXT_LENGTH),
            LOG_LEVEL="WARNING",
        ),
    }


async def phase(tree: Path, n_users: int, busy_timeout_s: float) -> tuple[int, list[float]]:
    """(replies that were an apology, every reply's latency in seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepare(workdir)
        async with FakeBotApi(TEST_TOKEN) as api:
            env = bot_env(api, workdir, tree, busy_timeout_s)
            async with bot_process(api, workdir, env):
                users = [api.user(20_000 + i) for i in range(n_users)]
                for user in users:  # a text with buttons to press, per user
                    await api.send_text(user, f"/write {SEED}")
                await api.wait_for(
                    lambda: all(api.messages_to(u.chat_id) for u in users) or None,
                    600,
                    "first texts",
                )
                firsts = {u.id: api.messages_to(u.chat_id)[0] for u in users}
                marks = {u.id: api.mark(u.chat_id) for u in users}
                sent: dict[int, float] = {}
                # a user whose first text was an apology has no button to press
                expected = {u.id: ACTIONS for u in users}
                setup_errors = 0
                for user in users:
                    sent[user.id] = time.monotonic()
                    await api.send_text(user, f"/write {SEED}")
                    first = firsts[user.id]
                    colder = [d for d in first.callback_data if d.startswith("w:colder:")]
                    if colder:
                        await api.press_button(user, first, colder[0])
                    else:
                        expected[user.id] -= 1
                        setup_errors += 1
                    await api.send_text(user, "/temp 0.9")
                    await api.send_text(user, "/length 200")

                def all_answered() -> bool:
                    return all(
                        len(api.messages_to(u.chat_id)) - marks[u.id] >= expected[u.id]
                        for u in users
                    )

                await api.wait_for(all_answered, 900, "every action's reply")
                await asyncio.sleep(0.5)  # a duplicate would arrive now
    errors = setup_errors  # each stands for a press that could not be made
    latencies: list[float] = []
    for user in users:
        replies = api.messages_to(user.chat_id)[marks[user.id] :]
        assert len(replies) == expected[user.id], f"user {user.id} got {len(replies)} replies"
        errors += sum(APOLOGY in (m.text or "") for m in replies)
        latencies += [m.sent_at - sent[user.id] for m in replies]
    return errors, latencies


def row(name: str, errors: int, lat: list[float]) -> str:
    return (
        f"{name:<10}{len(lat):>7}{errors:>8}{percentile(lat, 50) * 1e3:>10.0f}"
        f"{percentile(lat, 95) * 1e3:>10.0f}{max(lat) * 1e3:>10.0f}"
    )


async def run(before: Path, n_users: int, busy_timeout_s: float, rounds: int) -> None:
    # alternated, so a machine that gets busier or quieter during the run weighs on both
    results: dict[str, list[tuple[int, list[float]]]] = {"before": [], "now": []}
    for _ in range(rounds):
        results["before"].append(await phase(before, n_users, busy_timeout_s))
        results["now"].append(await phase(THIS_TREE, n_users, busy_timeout_s))
    print(f"{n_users} users x {ACTIONS} actions at once, SQLite busy timeout {busy_timeout_s} s,")
    print(f"{rounds} round(s) each, alternated; latencies of all rounds together")
    print(f"{'code':<10}{'replies':>7}{'errors':>8}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    pooled = {}
    for name, phases in results.items():
        errors = sum(e for e, _ in phases)
        pooled[name] = [x for _, lat in phases for x in lat]
        print(row(name, errors, pooled[name]))
    per_round = [
        percentile(new[1], 95) / percentile(old[1], 95)
        for old, new in zip(results["before"], results["now"], strict=True)
    ]
    ratio = percentile(pooled["now"], 95) / percentile(pooled["before"], 95)
    rounds_text = ", ".join(f"{r:.2f}" for r in per_round)
    print(f"p95 now / p95 before = {ratio:.2f} (per round: {rounds_text})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the old code")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--busy-timeout", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(run(args.before.resolve(), args.users, args.busy_timeout, args.rounds))


if __name__ == "__main__":
    main()
