"""An Arabic admin reads Arabic, end to end: the causes raised deep down (a text that is
not UTF-8 or too short, a download that failed, a training process that was killed),
everything a training run sends (progress, outcome, the loss curve's caption, buttons),
a start-up notice about a version that no longer loads, and /use of such a version. No
English word appears in any of it except commands and the words typed after them.
The real bot over HTTP, training in a real subprocess."""

from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from bot.texts.worded import loaded
from tests.botapi import FakeUser, SentMessage
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, FAST_TRAINING, Harness, running_bot
from tests.test_admin_e2e import NEW_TEXT, eventually, upload, wait_run_finished
from tests.test_startup_models import add_version, forget_database_copies
from tests.test_texts import COMMAND, TYPED_WORDS

FSI, PDI = "\u2068", "\u2069"


def english_words(text: str | None) -> set[str]:
    """Latin words of ``text`` other than commands and the words typed after them."""
    return set(re.findall(r"[A-Za-z]+", COMMAND.sub("", text or ""))) - TYPED_WORDS


def everything_read(message: SentMessage) -> list[str]:
    """What a client shows of a message: its text or caption, every earlier edit of it,
    and its buttons' labels."""
    markup: Any = message.reply_markup or {}
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    labels = [str(button.get("text", "")) for row in rows for button in row]
    return [message.text or "", message.caption or "", *message.edits, *labels]


def english_read_by(h: Harness, chat_id: int) -> dict[str, set[str]]:
    """The English words in what ``chat_id`` was sent; a file's path is a name, not
    English (the operator chose it), and is left out where it is isolated."""
    paths = re.compile(f"{FSI}{re.escape(str(h.workdir))}[^{PDI}]*{PDI}")
    found: dict[str, set[str]] = {}
    for message in h.api.messages_to(chat_id):
        for shown in everything_read(message):
            if english_words(paths.sub("", shown)):
                found[shown] = english_words(paths.sub("", shown))
    return found


def plain(text: str | None) -> str:
    return (text or "").replace(FSI, "").replace(PDI, "")


def arabic_admin(h: Harness) -> FakeUser:
    return h.api.user(ADMIN_ID, "مشرف", language_code="ar")


@pytest.mark.parametrize(
    "content,expected",
    [
        (
            b"caf\xe9 \xc3\x28 not utf8 at all",
            "النص ليس بترميز UTF-8 صالح (بايت خاطئ عند الموضع 3)",
        ),
        ("قصير جدا".encode(), "النص أقصر من أن أتدرب عليه: فيه 8 أحرف"),
    ],
)
async def test_an_arabic_admin_reads_why_a_text_cannot_be_trained_on_in_arabic(
    harness: Harness, content: bytes, expected: str
) -> None:
    reply = await upload(harness, arabic_admin(harness), content)
    assert expected in plain(reply.text)
    assert english_read_by(harness, ADMIN_ID) == {}


async def test_an_arabic_admin_reads_a_failed_download_in_arabic(harness: Harness) -> None:
    harness.api.inject_error("download", "Internal Server Error", 500)
    reply = await upload(harness, arabic_admin(harness), NEW_TEXT.encode())
    assert "ردّ خادم ملفات تيليجرام برمز الحالة 500" in plain(reply.text)
    assert english_read_by(harness, ADMIN_ID) == {}


async def test_an_arabic_admin_reads_a_whole_training_run_in_arabic(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **FAST_TRAINING) as h:
        await upload(h, arabic_admin(h), NEW_TEXT.encode())
        await wait_run_finished(h)
        photo = await h.api.wait_for(
            lambda: next((m for m in h.api.messages_to(ADMIN_ID) if m.kind == "photo"), None)
        )
        await h.api.wait_for(lambda: len(h.api.messages_to(ADMIN_ID)) >= 3 or None)
        assert "الأزرق: خسارة التدريب" in plain(photo.caption)
        assert english_read_by(h, ADMIN_ID) == {}


async def test_an_arabic_admin_reads_a_killed_training_in_arabic(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    overrides = {**FAST_TRAINING, "retrain_steps": 1_000_000}
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **overrides) as h:
        await upload(h, arabic_admin(h), NEW_TEXT.encode())
        run = await _running(h)
        os.kill(run.process.pid, signal.SIGKILL)
        await wait_run_finished(h)
        failure = await h.api.wait_for(
            lambda: next(
                (m for m in h.api.messages_to(ADMIN_ID) if "فشل التدريب" in plain(m.text)), None
            )
        )
        assert "أُنهيت عملية التدريب قسرا بالإشارة 9" in plain(failure.text)
        assert english_read_by(h, ADMIN_ID) == {}
        [row] = await h.services.storage.list_training_runs()
        worded = loaded(row.error or "")
        assert worded is not None and worded.key == "run_killed"


async def _running(h: Harness) -> Any:
    manager = h.services.retrain
    await eventually(lambda: manager.current is not None)
    run = manager.current
    await eventually(lambda: run.last is not None, 60)
    return run


async def test_an_arabic_admin_reads_start_up_notices_and_use_in_arabic(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT) as h:
        admin = arabic_admin(h)
        await h.ask(admin, "/start")  # the bot learns the admin's language
        await add_version(h, tiny_checkpoint_path, "v2", activate=False)
        await add_version(h, tiny_checkpoint_path, "v3", activate=True)
        # v3's file is damaged (model/ says why in English): v2 serves instead
        (tmp_path / "checkpoints" / "v3.pt").write_bytes(b"\x80\x02 truncated")
        await forget_database_copies(h)
        await h.restart()
        [damaged] = [m for m in h.api.messages_to(ADMIN_ID) if "بدء التشغيل" in (m.text or "")]
        assert "تعذر تحميل الإصدار 3 من النموذج" in plain(damaged.text)
        assert "ملف النموذج مفقود أو تالف" in plain(damaged.text)
        [refused] = await h.ask(admin, "/use 3")
        assert "ملف النموذج مفقود أو تالف" in plain(refused.text)
        # v2's file is replaced by another checkpoint (the bot's own check): v1 serves
        shutil.copy(tmp_path / "checkpoints" / "default.pt", tmp_path / "checkpoints" / "v2.pt")
        await forget_database_copies(h)
        await h.restart()
        notices = [m for m in h.api.messages_to(ADMIN_ID) if "بدء التشغيل" in (m.text or "")]
        assert len(notices) == 2 and "بصمته الرقمية مختلفة" in plain(notices[1].text)
        assert english_read_by(h, ADMIN_ID) == {}
