"""Admins read the bot in their own language, Arabic included, with
numbers and Latin names kept in order inside right-to-left sentences (each value is a
first-strong isolate, U+2068 ... U+2069). The real bot over HTTP, real training."""

from __future__ import annotations

import pytest

from tests.botapi import FakeUser, SentMessage
from tests.harness import ADMIN_ID, FAST_TRAINING, Harness
from tests.test_admin_e2e import NEW_TEXT, upload, wait_run_finished

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
    assert photo.caption == "منحنى الخسارة للتدريب " + iso("#1")


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
