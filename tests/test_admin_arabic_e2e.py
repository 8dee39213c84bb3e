"""Admins read the bot in their own language, Arabic included, with
numbers and Latin names kept in order inside right-to-left sentences (each value is a
first-strong isolate, U+2068 ... U+2069). An Arabic admin reads no English word except
commands and the words typed after them: not in a training run's messages (progress,
outcome, the loss curve's caption, buttons), nor in the causes raised deep down (a text
that is not UTF-8 or too short, a download that failed, a training process killed), nor
in a start-up notice about a version that no longer loads, nor in /use of such a version.
The real bot over HTTP, real training in a subprocess."""

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


HARNESS_SETTINGS = FAST_TRAINING


def iso(value: object) -> str:
    return f"{FSI}{value}{PDI}"


@pytest.fixture
def admin(harness: Harness) -> FakeUser:
    return harness.api.user(ADMIN_ID, "مشرف", language_code="ar")


def balanced(text: str) -> bool:
    """Every isolate is closed, in order (an unclosed one would swallow the rest)."""
    depth = 0
    for ch in text:
        depth += (ch == FSI) - (ch == PDI)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.slow
async def test_a_retraining_talks_to_an_arabic_admin_in_arabic(
    harness: Harness, admin: FakeUser
) -> None:
    status = await upload(harness, admin, NEW_TEXT.encode())
    text = status.text or ""
    assert text.startswith("التدريب على المدونة " + iso("#2")) and balanced(text)
    await wait_run_finished(harness)
    assert any("الخطوة" in e and "الخسارة" in e and "█" in e for e in status.edits)
    assert status.text == "التدريب " + iso("#1") + ": انتهى."

    def outcome() -> SentMessage | None:
        return next(
            (m for m in harness.api.messages_to(ADMIN_ID) if "عينة من الإصدار" in (m.text or "")),
            None,
        )

    message = await harness.api.wait_for(outcome)
    said = message.text or ""
    assert said.startswith("انتهى التدريب " + iso("#1") + ".")
    assert "الإصدار " + iso(2) + " مفعّل الآن." in said
    assert "خسارة التحقق: الجديد " + FSI in said and "نات/حرف" in said
    assert balanced(said)
    [photo] = [m for m in harness.api.messages_to(ADMIN_ID) if m.kind == "photo"]
    # the picture has no words: the caption says which curve is which
    assert photo.caption == (
        "منحنى الخسارة للتدريب " + iso("#1") + "\n" + iso("الأزرق") + ": خسارة التدريب؛ "
        + iso("البرتقالي") + ": خسارة التحقق (الإنتروبيا المتقاطعة بالنات لكل حرف، حسب الخطوة)."
    )  # fmt: skip
    assert english_read_by(harness, ADMIN_ID) == {}


async def test_admin_commands_answer_an_arabic_admin_in_arabic(
    harness: Harness, admin: FakeUser
) -> None:
    writer = harness.api.user(5101, "Ann")
    await harness.ask(writer, "/write في الصباح")
    [models] = await harness.ask(admin, "/models")
    assert (models.text or "").startswith(
        "إصدارات النموذج، الأحدث أولا:\n" + iso("#1") + iso(" ✅ مفعّل")
    )
    assert "بدّل بالأمر /use <رقم>." in (models.text or "")
    [stats] = await harness.ask(admin, "/stats")
    text = stats.text or ""
    assert "المستخدمون: " + iso(1) in text and "لا يجري أي تدريب." in text
    assert "المرفوض اليوم (بالتوقيت العالمي): " + iso(0) + " لتجاوز حد الطلبات الجارية" in text
    assert "USER_MAX_PENDING" not in text
    assert balanced(text)
    [page] = await harness.ask(admin, "/generations")
    text = page.text or ""
    assert text.startswith("النصوص " + iso(1) + "–" + iso(1) + " من " + iso(1))
    assert (
        "المستخدم " + iso(5101) in text
        and "الحرارة " + iso(f"{harness.settings.default_temperature:.1f}") in text
    )
    for command, expected in (
        ("/use x", "الاستخدام: /use"),
        ("/use 99", "لا يوجد إصدار رقمه " + iso(99)),
        ("/generations user", "المرشحات:"),
        ("/retrain nonsense", "الاستخدام: /retrain"),
        ("/retrain cancel", "لا يجري أي تدريب."),
    ):
        [answer] = await harness.ask(admin, command)
        assert expected in (answer.text or ""), command
    assert english_read_by(harness, ADMIN_ID) == {}


async def test_an_english_admin_still_reads_english(harness: Harness) -> None:
    admin = harness.api.user(ADMIN_ID, "Admin", language_code="en")
    [models] = await harness.ask(admin, "/models")
    assert (models.text or "").startswith("Model versions, newest first:\n#1 ✅ active")
    assert FSI not in (models.text or "")


async def test_the_admin_command_menu_is_registered_in_arabic_too(harness: Harness) -> None:
    scope = {"type": "chat", "chat_id": ADMIN_ID}
    english = {c["command"]: c["description"] for c in harness.api.commands_for(scope)}
    arabic = {c["command"]: c["description"] for c in harness.api.commands_for(scope, "ar")}
    assert arabic.keys() == english.keys() and "retrain" in arabic
    assert arabic["retrain"] == "للمشرف: أعد التدريب على نص جديد"
    assert all(arabic[name] != english[name] for name in arabic)


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
    ids=["not-utf8", "too-short"],
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
