"""Outgoing pacing: per-chat limits so Telegram never answers 429, quiet chats first.

The loopback server enforces Telegram's documented flood limits on arrival times
(``enforce_flood_limits``) and lists what it refused, so the assertions count refusals
and messages per window instead of timing anything.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.telegram.outgoing import FairRateLimiter
from tests.conftest import TINY_TEXT
from tests.harness import running_bot


def most_in_any_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    return max(
        (sum(1 for u in times[i:] if u - t < seconds) for i, t in enumerate(times)), default=0
    )


@pytest.mark.slow
async def test_a_private_chat_is_paced_so_telegram_never_answers_429(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, rate_limit=True) as h:
        h.api.enforce_flood_limits()
        user = h.api.user(4001)
        for _ in range(10):
            await h.api.send_text(user, "/help")
        replies = await h.api.wait_for_messages(user.chat_id, 10, timeout=60)
        assert len(replies) == 10
        assert h.api.flood_refusals == []
        sends = [
            c.time for c in h.api.calls_to("sendMessage") if str(c.params.get("chat_id")) == "4001"
        ]
        assert len(sends) == 10 and most_in_any_window(sends, 3.0) <= 3


async def test_a_429_is_waited_out_and_the_message_delivered_once(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, rate_limit=True) as h:
        user = h.api.user(4002)
        h.api.inject_error("sendMessage", "Too Many Requests: retry after 1", 429, retry_after=1)
        [reply] = await h.ask(user, "/help")
        assert "Commands" in (reply.text or "")
        assert len(h.api.messages_to(user.chat_id)) == 1
        assert h.bot.application.bot.rate_limiter.retried == 1


async def _run(limiter: FairRateLimiter, chat_id: int, log: list[int], method: str) -> Any:
    async def callback() -> bool:
        log.append(chat_id)
        return True

    return await limiter.process_request(callback, (), {}, method, {"chat_id": chat_id}, None)


async def test_a_quiet_chat_goes_before_a_flooders_backlog() -> None:
    # Only the overall budget binds here: two messages per half second.
    limiter = FairRateLimiter(private=(100, 1.0), overall=(2, 0.5))
    order: list[int] = []
    flood = [asyncio.create_task(_run(limiter, 1, order, "sendMessage")) for _ in range(8)]
    await asyncio.sleep(0)
    quiet = asyncio.create_task(_run(limiter, 2, order, "sendMessage"))
    await asyncio.gather(*flood, quiet)
    # The flooder's first two went at once; the quiet chat had the next free slot.
    assert order[:3] == [1, 1, 2]


async def test_chat_actions_are_skipped_while_the_chat_has_messages_waiting() -> None:
    limiter = FairRateLimiter(private=(1, 0.5), overall=(30, 1.0))
    sent: list[int] = []
    first = asyncio.create_task(_run(limiter, 7, sent, "sendMessage"))
    second = asyncio.create_task(_run(limiter, 7, sent, "sendMessage"))
    await asyncio.sleep(0.05)
    assert await _run(limiter, 7, sent, "sendChatAction") is True  # answered, not sent
    await asyncio.gather(first, second)
    assert sent == [7, 7]
    await asyncio.sleep(0.6)
    await _run(limiter, 7, sent, "sendChatAction")
    assert sent == [7, 7, 7]


async def test_retries_give_up_after_max_retries_with_the_429() -> None:
    limiter = FairRateLimiter(max_retries=1)
    calls = 0

    async def always_429() -> bool:
        nonlocal calls
        calls += 1
        raise RetryAfter(0)

    try:
        await limiter.process_request(always_429, (), {}, "sendMessage", {"chat_id": 5}, None)
    except RetryAfter:
        pass
    else:  # pragma: no cover
        raise AssertionError("expected RetryAfter")
    assert calls == 2
