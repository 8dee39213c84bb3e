"""SQLite under a burst of mixed actions: the bot's writes queued in order, or polling.

    python -m benchmarks.sqlite_writes [--users 200] [--busy-timeout 2]

Each user first gets one text (not timed), then every user at once sends ``/write``,
presses "colder" under that text, sends ``/temp 0.9`` and ``/length 200``: four
actions, each answered with one message. Two phases on fresh databases in one run, with
the same busy timeout: "polling" is every pooled connection waiting for SQLite's write
lock in its busy handler (the bot without bot/storage/writer.py), "serial" is the bot
as shipped, its write transactions taking turns in order. Reported per phase: replies
that were "something went wrong", and the latency of every reply from the moment its
user's four actions were sent (p50, p95, max), then p95 serial / p95 polling. A user
whose untimed first text was already an apology has no button to press: that counts as
one error.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import bot.storage.database as database
from benchmarks.bot_load import percentile, prepare
from bot.runner import RunningBot
from bot.storage.writer import SerialWrites
from bot.texts import t
from tests.botapi import FakeBotApi
from tests.harness import TEST_TOKEN, make_settings

SEED = "في الصباح"
ACTIONS = 4  # /write, a button press, /temp, /length


class PollingWrites(SerialWrites):
    """The bot without the write queue: each connection waits in SQLite's busy handler."""

    def install(self, engine: Any) -> None:
        return None


async def phase(n_users: int, busy_timeout_s: float, serial: bool) -> tuple[int, list[float]]:
    """(replies that were an apology, every reply's latency in seconds)."""
    database.SerialWrites = SerialWrites if serial else PollingWrites  # type: ignore[misc,attr-defined]
    apology = t("en", "error")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepare(workdir)
        async with FakeBotApi(TEST_TOKEN) as api:
            settings = make_settings(
                api, workdir, log_level="WARNING", sqlite_busy_timeout_s=busy_timeout_s
            )
            bot = RunningBot(settings)
            await bot.start()
            try:
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
            finally:
                await bot.stop()
    errors = setup_errors  # each stands for a press that could not be made
    latencies: list[float] = []
    for user in users:
        replies = api.messages_to(user.chat_id)[marks[user.id] :]
        assert len(replies) == expected[user.id], f"user {user.id} got {len(replies)} replies"
        errors += sum(apology in (m.text or "") for m in replies)
        latencies += [m.sent_at - sent[user.id] for m in replies]
    return errors, latencies


def row(name: str, errors: int, lat: list[float]) -> str:
    return (
        f"{name:<10}{len(lat):>7}{errors:>8}{percentile(lat, 50) * 1e3:>10.0f}"
        f"{percentile(lat, 95) * 1e3:>10.0f}{max(lat) * 1e3:>10.0f}"
    )


async def run(n_users: int, busy_timeout_s: float) -> None:
    polling = await phase(n_users, busy_timeout_s, serial=False)
    serial = await phase(n_users, busy_timeout_s, serial=True)
    print(f"{n_users} users x {ACTIONS} actions at once, SQLite busy timeout {busy_timeout_s} s")
    print(f"{'writes':<10}{'replies':>7}{'errors':>8}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    print(row("polling", *polling))
    print(row("serial", *serial))
    ratio = percentile(serial[1], 95) / percentile(polling[1], 95)
    print(f"p95 serial / p95 polling = {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--busy-timeout", type=float, default=2.0)
    args = parser.parse_args()
    asyncio.run(run(args.users, args.busy_timeout))


if __name__ == "__main__":
    main()
