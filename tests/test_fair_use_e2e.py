"""Fair use through the Bot API: per-user limits, a flood among other users, access control.

Silence is checked by letting the bot settle (a short sleep) and counting: a reply that
should not exist and arrives late makes these tests pass wrongly, never fail wrongly.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from bot.rules.limits import counters_of
from bot.storage.schema import GenerationRow
from tests.botapi import FakeUser, SentMessage
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, Harness, running_bot

SETTLE_S = 1.0


async def count_generations(h: Harness, user_id: int | None = None) -> int:
    query = select(func.count()).select_from(GenerationRow)
    if user_id is not None:
        query = query.where(GenerationRow.user_id == user_id)
    async with h.services.storage.session_maker() as session:
        return int(await session.scalar(query) or 0)


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def settle_and_read(h: Harness, user: FakeUser, since: int = 0) -> list[SentMessage]:
    await asyncio.sleep(SETTLE_S)
    return h.api.messages_to(user.chat_id)[since:]


async def until_nothing_in_flight(h: Harness) -> None:
    counters = counters_of(h.services)
    for _ in range(2000):
        if not await counters.pending_by_user():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("texts still in flight")


def texts(messages: list[SentMessage]) -> list[str]:
    return [m.text or "" for m in messages]


def is_generation(message: SentMessage) -> bool:
    return (message.raw_text or "").startswith("في")


# ------------------------------------------------------------------ per-user limits


async def test_past_max_pending_the_user_is_told_once_and_nothing_is_stored(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, user_max_pending=2, user_rate_per_minute=0
    ) as h:
        user = h.api.user(2001)
        # Both admitted /write hold their slot until their text is sent: slow replies (the
        # notice's too) make the overlap deterministic.
        h.api.inject_delay("sendMessage", 1.5, times=3)
        for _ in range(6):
            await h.api.send_text(user, "/write في الصباح")
        await h.api.wait_for_messages(user.chat_id, 3, timeout=60)
        replies = await settle_and_read(h, user)
        notices = [m for m in replies if "already have 2 texts" in (m.text or "")]
        assert len(notices) == 1, texts(replies)
        assert sum(map(is_generation, replies)) == 2 and len(replies) == 3
        assert await count_generations(h, user.id) == 2
        # Once the texts are done, the user may write again.
        [again] = await h.ask(user, "/write في الصباح")
        assert is_generation(again)


async def test_past_the_rate_the_user_is_told_when_to_retry_once_per_burst(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, user_max_pending=0, user_rate_per_minute=3
    ) as h:
        user = h.api.user(2002, language_code="ar")
        for _ in range(3):
            [reply] = await h.ask(user, "/write في الصباح")
            assert is_generation(reply)
        mark = h.api.mark(user.chat_id)
        for _ in range(5):
            await h.api.send_text(user, "/write في الصباح")
        await h.api.wait_for_messages(user.chat_id, 1, since=mark)
        replies = await settle_and_read(h, user, mark)
        assert len(replies) == 1, texts(replies)
        assert "حاول مرة أخرى بعد" in (replies[0].text or "")  # in the user's language
        # 3 a minute: a token every 20 s, so the wait said is between 1 and 20 s.
        # The count agrees with its noun (one, two, 3-10 or 11+ seconds) and is isolated.
        said = (replies[0].text or "").replace("\u2068", "").replace("\u2069", "")
        found = re.search(r"بعد (?:(\d+) (?:ثوان|ثانية)|(ثانيتين)|(ثانية واحدة))", said)
        assert found is not None, said
        seconds = int(found[1]) if found[1] else 2 if found[2] else 1
        assert 1 <= seconds <= 20
        assert await count_generations(h, user.id) == 3


async def test_admins_are_exempt_from_the_per_user_limits(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, user_max_pending=1, user_rate_per_minute=1
    ) as h:
        admin = h.api.user(ADMIN_ID)
        h.api.inject_delay("sendMessage", 1.0, times=1)
        for _ in range(3):
            await h.api.send_text(admin, "/write في الصباح")
        replies = await h.api.wait_for_messages(admin.chat_id, 3, timeout=60)
        assert all(map(is_generation, replies)), texts(replies)


async def test_zero_means_unlimited(tmp_path: Path, tiny_checkpoint_path: Path) -> None:
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, user_max_pending=0, user_rate_per_minute=0
    ) as h:
        user = h.api.user(2003)
        h.api.inject_delay("sendMessage", 1.0, times=4)
        for _ in range(4):
            await h.api.send_text(user, "/write في الصباح")
        replies = await h.api.wait_for_messages(user.chat_id, 4, timeout=60)
        assert all(map(is_generation, replies)), texts(replies)


# ------------------------------------------------------------------------------ flood


async def test_a_flooder_fills_the_queue_and_the_other_users_are_still_answered(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    """The issue's report at small scale: without per-user limits, one user's 30 /write
    filled a small queue and five users writing after got "busy"; now the flooder's newest
    waiting requests make room and every other user gets a text."""
    async with running_bot(
        tmp_path,
        tiny_checkpoint_path,
        TINY_TEXT,
        max_batch=1,
        max_queue=8,
        default_length=4000,
        user_max_pending=0,
        user_rate_per_minute=0,
    ) as h:
        flooder = h.api.user(2100)
        others = [h.api.user(2101 + i) for i in range(5)]
        for _ in range(30):
            await h.api.send_text(flooder, "/write في الصباح")
        await until(lambda: h.services.engine.queue_depth >= 8)
        for user in others:
            await h.api.send_text(user, "/write في الصباح")
        for user in others:
            [reply] = await h.api.wait_for_messages(user.chat_id, 1, timeout=120)
            assert is_generation(reply), reply.text
        flood = await h.api.wait_for_messages(flooder.chat_id, 30, timeout=180)
        busy = [m for m in flood if "busy" in (m.text or "")]
        assert len(busy) >= 5, texts(flood)
        assert sum(map(is_generation, flood)) == 30 - len(busy), texts(flood)


async def test_with_the_default_limits_a_flood_gets_two_texts_and_one_notice(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, user_max_pending=2, user_rate_per_minute=20
    ) as h:  # the production defaults
        flooder, other = h.api.user(2200), h.api.user(2201)
        h.api.inject_delay("sendMessage", 1.0, times=3)
        for _ in range(30):
            await h.api.send_text(flooder, "/write في الصباح")
        [reply] = await h.ask(other, "/write في الصباح")
        assert is_generation(reply)
        await h.api.wait_for_messages(flooder.chat_id, 3, timeout=60)
        flood = await settle_and_read(h, flooder)
        assert sum(map(is_generation, flood)) == 2 and len(flood) == 3, texts(flood)


# ------------------------------------------------------------------------------ /stats


async def test_stats_shows_refusals_by_limit_and_the_top_users_today(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, user_max_pending=1, user_rate_per_minute=2
    ) as h:
        user, blocked, admin = h.api.user(2300), h.api.user(2301), h.api.user(ADMIN_ID)
        h.api.inject_delay("sendMessage", 1.5, times=2)
        await h.api.send_text(user, "/write في الصباح")
        await h.api.send_text(user, "/write في الصباح")  # over USER_MAX_PENDING
        await h.api.wait_for_messages(user.chat_id, 2)
        await until_nothing_in_flight(h)
        [second] = await h.ask(user, "/write في الصباح")
        assert is_generation(second)
        await until_nothing_in_flight(h)
        [rate] = await h.ask(user, "/write في الصباح")  # over USER_RATE_PER_MINUTE
        assert "try again in" in (rate.text or "")
        await h.ask(admin, "/block 2301")
        await h.ask(blocked, "/start")
        [stats] = await h.ask(admin, "/stats")
        text = stats.text or ""
        assert (
            "Refused today (UTC): 1 over USER_MAX_PENDING, 1 over USER_RATE_PER_MINUTE, "
            "1 blocked or not allowed; since start: 0 queue full" in text
        ), text
        assert "Top users today: 2300 (2)" in text
        assert "In flight per user: none" in text
