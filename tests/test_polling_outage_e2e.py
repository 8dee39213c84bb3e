"""A short Bot API outage while polling: one line when it begins, one with the count when
it ends, no traceback, and every user still answered exactly once.

The loopback Bot API answers ``getUpdates`` with 502 Bad Gateway a few times in a row,
as Telegram does while its front end restarts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.conftest import TINY_TEXT
from tests.harness import running_bot

FAILED_POLLS = 3


async def test_a_bot_api_outage_while_polling_is_two_log_lines_with_a_count(
    tmp_path: Path, tiny_checkpoint_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT) as h:
        before, during = h.api.user(7101), h.api.user(7102)
        h.api.inject_error("getUpdates", "Bad Gateway", 502, times=FAILED_POLLS)
        caplog.clear()
        # This update ends the long poll in flight; the polls after it fail.
        await h.ask(before, "/start")
        await h.api.send_text(during, "/write في")
        await h.api.wait_for_messages(during.id, 1)
        assert h.api.injected_left("getUpdates") == 0
        await h.ask(before, "/temp")  # polling goes on as before
    assert len(h.api.messages_to(before.id)) == 2
    assert len(h.api.messages_to(during.id)) == 1, h.api.describe(during.id)
    polling = [(r.levelname, r.getMessage()) for r in caplog.records if r.name.endswith("polling")]
    assert polling == [
        ("WARNING", "polling: the Bot API is not answering (Bad Gateway); retrying"),
        ("INFO", f"polling: the Bot API answers again after {FAILED_POLLS} failed request(s)"),
    ]
    loud = [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in loud] == [polling[0][1]]
