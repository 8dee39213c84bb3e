"""An uploaded text is decoded and checked character by character off the event loop.

For a 10 MB upload that takes seconds of CPU; on the loop it stalled every other user's
update for as long. The check itself runs unchanged; the test records which thread ran
it while the real bot handles a real upload.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.training import corpora
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, FAST_TRAINING, running_bot
from tests.test_admin_e2e import NEW_TEXT, upload


async def test_an_uploaded_text_is_checked_off_the_event_loop(
    tmp_path: Path, tiny_checkpoint_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    check = corpora.check_characters

    def recording_check(text: str) -> None:
        threads.append(threading.current_thread())
        check(text)

    monkeypatch.setattr(corpora, "check_characters", recording_check)
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **FAST_TRAINING) as h:
        status = await upload(h, h.api.user(ADMIN_ID, "Admin"), NEW_TEXT.encode())
        assert "starting…" in (status.text or ""), status.text
    assert threads and threading.main_thread() not in threads, threads
