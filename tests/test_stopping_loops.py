"""Stopping background loops: a cancellation lost inside a library call must not leave
a shutdown waiting forever."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.telegram import tasks
from bot.telegram.tasks import cancel_and_wait


class LostCancellation(Exception):
    """What a driver may turn a cancellation into."""


async def test_a_loop_that_swallows_the_first_cancellation_is_still_stopped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(tasks, "RECANCEL_EVERY_S", 0.05)
    turns = 0

    async def loop() -> None:
        nonlocal turns
        while True:
            turns += 1
            try:
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    if turns == 1:  # the first request is turned into an error of its own
                        raise LostCancellation() from None
                    raise
            except LostCancellation:
                continue  # caught and retried, as a loop's `except Exception` would

    task = asyncio.create_task(loop(), name="swallower")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="bot.telegram.tasks"):
        await asyncio.wait_for(cancel_and_wait(task), 5)
    assert task.cancelled() and turns == 2
    assert "swallower ignored 1 cancellation(s)" in caplog.text


async def test_a_plain_loop_is_stopped_with_one_cancellation_and_no_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    task = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="bot.telegram.tasks"):
        await cancel_and_wait(task)
    assert task.cancelled() and caplog.text == ""


async def test_a_task_already_finished_is_left_as_it_is() -> None:
    task = asyncio.create_task(asyncio.sleep(0, result=7))
    await task
    await cancel_and_wait(task)
    assert task.result() == 7
