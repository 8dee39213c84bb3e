"""What a refused button press costs the other users, next to a refused /write (CPU).

    python -m benchmarks.refused_presses [--flood 150 --victims 10 --rounds 2]

One user has used up their per-user allowance (the production defaults: USER_RATE_PER_MINUTE
texts a minute), then floods the bot within one second, in alternating phases: ``--flood``
/write commands, then ``--flood`` presses of a button under one of their texts ("again").
Every one of those is refused by the limits. Interleaved with each flood, ``--victims``
other users send one /write each; their latency (queued on the fake server to their reply
arriving there) is what the flood costs everyone else. Both kinds of flood run in the same
process, alternately, ``--rounds`` times each, all within the flooder's minute, so the
ratio press flood / /write flood is measured in one run. The database statements that
write (INSERT, UPDATE, DELETE, counted on the bot's own engine) are counted per phase: a
refused press checked before any database work writes no more than a refused /write.
So are the Bot API calls (long polling left out): every press is answered
(answerCallbackQuery, so the client's spinner stops), where refused /write commands are
told once a burst, and the fake server answering them runs in this same process.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import torch
from sqlalchemy import event

from benchmarks.bot_load import HEADER, first_replies, percentile, prepare, row
from bot.runner import RunningBot
from bot.settings.config import Settings
from tests.botapi import FakeBotApi, FakeUser, SentMessage
from tests.harness import TEST_TOKEN, make_settings

SEED = "/write في الصباح"
FLOOD_SECONDS = 1.0  # the flood and the victims' /write are spread over this long
SETTLE_S = 2.0  # between phases: the flood's refusals answered, chats' pacing empty


class WriteCounter:
    """Statements that write, counted on the bot's engine (every connection of its pool)."""

    def __init__(self, engine: Any) -> None:
        self.writes = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.writes += 1


def api_calls(api: FakeBotApi) -> int:
    """Bot API calls the bot made so far, long polling left out."""
    return sum(call.method != "getUpdates" for call in api.calls)


async def flood_phase(
    api: FakeBotApi,
    victims: list[FakeUser],
    flood: int,
    one_flood_action: Callable[[], Awaitable[object]],
) -> list[float]:
    """``flood`` actions of the flooder with one /write of each victim interleaved, evenly
    over FLOOD_SECONDS; the victims' latencies."""
    marks = {v.id: api.mark(v.chat_id) for v in victims}
    every = max(1, flood // len(victims))
    plan: list[FakeUser | None] = []
    for i in range(flood):
        if i % every == every // 2 and len([p for p in plan if p]) < len(victims):
            plan.append(victims[len([p for p in plan if p])])
        plan.append(None)
    start = time.monotonic()
    sent: dict[int, float] = {}
    for i, who in enumerate(plan):
        delay = start + FLOOD_SECONDS * i / len(plan) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if who is None:
            await one_flood_action()
        else:
            sent[who.id] = time.monotonic()
            await api.send_text(who, SEED)
    phase = await first_replies(api, victims, sent, marks)
    return phase.latencies


async def run(flood: int, n_victims: int, rounds: int) -> None:
    defaults = Settings.model_fields
    rate = int(defaults["user_rate_per_minute"].default)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepare(workdir)
        async with FakeBotApi(TEST_TOKEN) as api:
            settings = make_settings(
                api, workdir, log_level="WARNING", rate_limit=True,
                user_max_pending=defaults["user_max_pending"].default, user_rate_per_minute=rate,
            )  # fmt: skip
            bot = RunningBot(settings)
            await bot.start()
            try:
                storage = bot.application.bot_data["services"].storage
                counter = WriteCounter(storage.session_maker.kw["bind"])
                flooder = api.user(49_999)
                # the flooder's allowance for this minute, used up one text at a time
                texts: list[SentMessage] = []
                for _ in range(rate):
                    since = api.mark(flooder.chat_id)
                    await api.send_text(flooder, SEED)
                    texts += await api.wait_for_messages(flooder.chat_id, 1, 60, since=since)
                target = next(m for m in reversed(texts) if m.callback_data)
                again = next(d for d in target.callback_data if d.startswith("w:again:"))

                async def write() -> object:
                    return await api.send_text(flooder, SEED)

                async def press() -> object:
                    return await api.press_forged_button(flooder, target, again)

                started = time.monotonic()
                results: dict[str, list[float]] = {"/write": [], "press": []}
                writes: dict[str, int] = {"/write": 0, "press": 0}
                calls: dict[str, int] = {"/write": 0, "press": 0}
                for r in range(rounds):
                    for name, action in (("/write", write), ("press", press)):
                        victims = [
                            api.user(50_000 + 1000 * r + 100 * (name == "press") + i)
                            for i in range(n_victims)
                        ]
                        before, made = counter.writes, api_calls(api)
                        results[name] += await flood_phase(api, victims, flood, action)
                        await asyncio.sleep(SETTLE_S)
                        writes[name] += counter.writes - before
                        calls[name] += api_calls(api) - made
                elapsed = time.monotonic() - started
                replies = len(api.messages_to(flooder.chat_id)) - len(texts)
                pressed = len(api.calls_to("answerCallbackQuery"))
            finally:
                await bot.stop()
    print(f"flooder: {rate} texts first (the minute's allowance), then {rounds} x {flood} "
          f"/write and {rounds} x {flood} presses in {elapsed:.0f} s; "
          f"{replies} refusal messages, {pressed} presses answered")  # fmt: skip
    print(HEADER + f"{'writes':>10}{'calls':>8}")
    for name, what in (("/write", "/write"), ("press", "presses")):
        label = f"victims of {flood} {what}"
        print(f"{row(label, results[name])}{writes[name]:>10}{calls[name]:>8}")
    p50 = statistics.median(results["press"]) / statistics.median(results["/write"])
    p99 = percentile(results["press"], 99) / percentile(results["/write"], 99)
    print(f"ratio press flood / /write flood: p50 {p50:.2f}x, p99 {p99:.2f}x "
          f"(the reported bug: ~10x)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flood", type=int, default=150)
    parser.add_argument("--victims", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu")
    asyncio.run(run(args.flood, args.victims, args.rounds))


if __name__ == "__main__":
    main()
