"""The in-memory per-user counters: token bucket, pending slots, once-per-burst notices."""

from __future__ import annotations

import pytest

from bot.rules import limits
from bot.rules.limits import PENDING, RATE, MemoryCounters


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(limits.time, "monotonic", fake)
    return fake


async def test_the_bucket_holds_the_rate_and_refills_at_it(clock: Clock) -> None:
    counters = MemoryCounters()
    assert [await counters.take_token(1, 6) for _ in range(6)] == [0.0] * 6
    assert await counters.take_token(1, 6) == pytest.approx(10.0)  # 6 a minute: one per 10 s
    clock.now += 4.0
    assert await counters.take_token(1, 6) == pytest.approx(6.0)
    clock.now += 6.0
    assert await counters.take_token(1, 6) == 0.0
    assert await counters.take_token(2, 6) == 0.0  # another user has their own bucket


async def test_the_rate_notice_is_told_again_only_after_a_full_refill(clock: Clock) -> None:
    counters = MemoryCounters()
    for _ in range(2):
        await counters.take_token(1, 2)
    assert await counters.take_token(1, 2) > 0
    assert await counters.refused(1, RATE) is True
    assert await counters.refused(1, RATE) is False
    clock.now += 30.0  # one token back: a new request passes, but the burst goes on
    assert await counters.take_token(1, 2) == 0.0
    assert await counters.take_token(1, 2) > 0
    assert await counters.refused(1, RATE) is False
    clock.now += 60.0  # full again: the next burst is told
    await counters.take_token(1, 2)
    await counters.take_token(1, 2)
    assert await counters.take_token(1, 2) > 0
    assert await counters.refused(1, RATE) is True
    assert (await counters.refusals_today())[RATE] == 4  # every refusal is counted


async def test_pending_slots_and_the_notice_reset_when_all_texts_are_done() -> None:
    counters = MemoryCounters()
    assert await counters.begin(1, 2) and await counters.begin(1, 2)
    assert not await counters.begin(1, 2)
    assert await counters.refused(1, PENDING) is True
    assert await counters.refused(1, PENDING) is False
    assert await counters.pending_by_user() == {1: 2}
    await counters.end(1)
    assert await counters.refused(1, PENDING) is False  # one still running
    await counters.end(1)
    await counters.end(1)  # an extra release never goes below zero
    assert await counters.pending_by_user() == {}
    assert await counters.refused(1, PENDING) is True
