"""The bot's own words as users read them, end to end: counts that agree with their
nouns in Arabic and English, values kept in reading order inside Arabic sentences, and
an unknown seed answered with the alphabet the model knows. The real bot over HTTP."""

from __future__ import annotations

from bidi import get_display

from tests.harness import ADMIN_ID, Harness

FSI, PDI = "\u2068", "\u2069"


def plain(text: str | None) -> str:
    return (text or "").replace(FSI, "").replace(PDI, "")


async def test_an_unknown_seed_is_told_the_alphabet_of_the_model(harness: Harness) -> None:
    english = harness.api.user(2101, "Ann")
    arabic = harness.api.user(2102, "سارة", language_code="ar")
    [told] = await harness.ask(english, "/write zzz qqq")
    assert "trained on text written in the Arabic script" in (told.text or "")
    [told_ar] = await harness.ask(arabic, "/write zzz qqq")
    assert "تدربت على نصوص مكتوبة بالحروف العربية" in plain(told_ar.text)


async def test_an_arabic_length_agrees_with_its_count(harness: Harness) -> None:
    me = harness.api.user(2103, "سارة", language_code="ar")
    expected = {1: "حرف واحد", 2: "حرفين", 3: "3 أحرف", 11: "11 حرفا", 100: "100 حرف"}
    for count, words in expected.items():
        [done] = await harness.ask(me, f"/length {count}")
        assert plain(done.text) == f"ضبطت الطول على {words}.", count


async def test_an_english_count_of_one_is_singular(harness: Harness) -> None:
    me = harness.api.user(2104, "Ann")
    [done] = await harness.ask(me, "/length 1")
    assert done.text == "Length set to one character."
    await harness.ask(me, "/write في الصباح")
    [history] = await harness.ask(me, "/history")
    assert (history.text or "").startswith("Your last generation:\n1. ")


async def test_a_negative_number_reads_in_order_in_arabic(harness: Harness) -> None:
    me = harness.api.user(2105, "سارة", language_code="ar")
    [refused] = await harness.ask(me, "/temp -1")
    shown = get_display(refused.text or "")
    assert "-1" in shown and "1-" not in shown
    await harness.ask(me, "/write في الصباح")
    [history] = await harness.ask(me, "/history")
    first_line = (history.text or "").splitlines()[1]
    assert "UTC" not in first_line and "بالتوقيت العالمي" in first_line


async def test_an_arabic_admin_reads_why_a_text_was_refused_in_arabic(
    harness: Harness,
) -> None:
    admin = harness.api.user(ADMIN_ID, "مشرف", language_code="ar")
    since = harness.api.mark(admin.chat_id)
    prose = "في الصباح ذهبت إلى البحر " * 40
    await harness.api.send_document(admin, "corpus.txt", (prose + "\x01").encode(), "/retrain")
    [told] = await harness.api.wait_for_messages(admin.chat_id, 1, since=since)
    said = plain(told.text)
    assert said.startswith("لا أستطيع التدريب على هذا النص: في النص محرف تحكم U+0001")
    assert "control character" not in said
