"""The real bot over real HTTP against the loopback Bot API server, SQLite on disk."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.storage.schema import GenerationRow as Generation
from bot.storage.schema import UserRow as User
from tests.conftest import TINY_TEXT
from tests.harness import TEST_TOKEN, Harness, running_bot


async def count_rows(h: Harness, model: type) -> int:
    async with h.services.storage.session_maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_start_greets_in_english_by_default(harness: Harness) -> None:
    user = harness.api.user(1001, "Ann", language_code="en")
    [reply] = await harness.ask(user, "/start")
    assert "Hello Ann" in (reply.text or "")
    assert "/write" in (reply.text or "")


async def test_start_and_help_answer_in_arabic_for_arabic_users(harness: Harness) -> None:
    user = harness.api.user(1002, "سارة", language_code="ar")
    [greeting] = await harness.ask(user, "/start")
    assert "مرحبا \u2068سارة\u2069" in (greeting.text or "")  # the name isolated
    [help_text] = await harness.ask(user, "/help")
    assert "الأوامر" in (help_text.text or "")
    assert "0.1" in (help_text.text or "") and "2" in (help_text.text or "")


async def test_command_menu_is_registered_in_both_languages(harness: Harness) -> None:
    calls = harness.api.calls_to("setMyCommands")
    languages = {call.params.get("language_code") for call in calls}
    assert None in languages and "ar" in languages
    names = [c["command"] for c in harness.api.commands_for()]
    assert names == ["write", "temp", "history", "forget", "help", "length"]


async def test_write_continues_the_seed_as_plain_text_and_stores_it(harness: Harness) -> None:
    user = harness.api.user(1003, "Omar")
    [reply] = await harness.ask(user, "/write في الصباح")
    text = reply.raw_text or ""
    assert text.startswith("في الصباح")
    assert len(text) == len("في الصباح") + harness.settings.default_length
    assert reply.parse_mode is None
    async with harness.services.storage.session_maker() as session:
        row = (await session.scalars(select(Generation))).one()
    assert row.user_id == 1003 and row.chat_id == 1003
    assert row.seed == "في الصباح" and row.output == text
    assert row.temperature == pytest.approx(harness.settings.default_temperature)
    assert row.latency_ms > 0 and row.model_version_id is not None


async def test_write_without_a_seed_explains_usage(harness: Harness) -> None:
    user = harness.api.user(1004)
    [reply] = await harness.ask(user, "/write")
    assert "/write" in (reply.text or "") and "example" in (reply.text or "")
    assert await count_rows(harness, Generation) == 0


async def test_seed_over_the_limit_is_refused_politely(harness: Harness) -> None:
    user = harness.api.user(1005)
    limit = harness.settings.max_seed_chars
    [reply] = await harness.ask(user, "/write " + "ب" * (limit + 1))
    assert f"limit is {limit}" in (reply.text or "")
    assert await count_rows(harness, Generation) == 0


async def test_seed_with_no_known_characters_is_refused_politely(harness: Harness) -> None:
    user = harness.api.user(1006)
    [reply] = await harness.ask(user, "/write hello world")
    assert "don't know any of the characters" in (reply.text or "")
    assert await count_rows(harness, Generation) == 0


async def test_unknown_characters_are_dropped_and_mentioned(harness: Harness) -> None:
    user = harness.api.user(1007)
    text, note = await harness.ask(user, "/write في Z الصباح", count=2)
    assert (text.text or "").startswith("في  الصباح")
    assert "Z" in (note.text or "") and "left them out" in (note.text or "")
    async with harness.services.storage.session_maker() as session:
        row = (await session.scalars(select(Generation))).one()
    assert row.dropped_chars == "Z"


async def test_generated_markdown_like_text_cannot_break_formatting(harness: Harness) -> None:
    user = harness.api.user(1008)
    [reply] = await harness.ask(user, "/write في *الصباح_ [x](y")
    assert reply.parse_mode is None and reply.entities == []


@pytest.mark.parametrize(
    "value,expected",
    [("0.5", "0.5"), ("0,7", "0.7"), ("٠٫٨", "0.8"), ("۱٫۲", "1.2"), ("2", "2.0")],
)
async def test_temp_accepts_common_notations(harness: Harness, value: str, expected: str) -> None:
    user = harness.api.user(1010)
    [reply] = await harness.ask(user, f"/temp {value}")
    assert f"set to {expected}" in (reply.text or "")
    assert await harness.services.storage.get_temperature(1010) == pytest.approx(float(expected))


@pytest.mark.parametrize(
    "value,reply_part",
    [
        ("abc", "is not a number"),
        ("nan", "is not a number"),
        ("inf", "is not a number"),
        ("-inf", "is not a number"),
        ("1e3", "is not a number"),
        ("0", "out of range"),
        ("2.5", "out of range"),
        ("-1", "out of range"),
    ],
)
async def test_temp_refuses_bad_values_and_changes_nothing(
    harness: Harness, value: str, reply_part: str
) -> None:
    user = harness.api.user(1011)
    await harness.ask(user, "/temp 1.5")
    [reply] = await harness.ask(user, f"/temp {value}")
    assert reply_part in (reply.text or "")
    assert await harness.services.storage.get_temperature(1011) == pytest.approx(1.5)


async def test_temp_alone_shows_current_value_and_range(harness: Harness) -> None:
    user = harness.api.user(1012)
    [reply] = await harness.ask(user, "/temp")
    default = f"{harness.settings.default_temperature:.1f}"
    assert default in (reply.text or "") and "0.1 to 2.0" in (reply.text or "")


async def test_write_uses_the_users_temperature(harness: Harness) -> None:
    user = harness.api.user(1013)
    await harness.ask(user, "/temp 1.7")
    await harness.ask(user, "/write البحر")
    async with harness.services.storage.session_maker() as session:
        row = (await session.scalars(select(Generation))).one()
    assert row.temperature == pytest.approx(1.7)


async def test_history_lists_own_generations_newest_first(harness: Harness) -> None:
    me, other = harness.api.user(1014), harness.api.user(1015)
    await harness.ask(me, "/write البحر")
    await harness.ask(other, "/write المدينة")
    await harness.ask(me, "/write الحاسوب")
    [reply] = await harness.ask(me, "/history")
    text = reply.text or ""
    assert text.index("الحاسوب") < text.index("البحر")
    assert "المدينة" not in text


async def test_history_when_empty_says_so(harness: Harness) -> None:
    [reply] = await harness.ask(harness.api.user(1016), "/history")
    assert "no generations yet" in (reply.text or "")


async def test_forget_deletes_own_data_after_confirmation(harness: Harness) -> None:
    me, other = harness.api.user(1017), harness.api.user(1018)
    await harness.ask(me, "/temp 1.2")
    await harness.ask(me, "/write البحر")
    await harness.ask(other, "/write البحر")
    [question] = await harness.ask(me, "/forget")
    assert "your one stored generation" in (question.text or "")
    await harness.api.press_button(me, question, "forget:yes:1017")
    await harness.api.wait_for_edit(question, lambda m: "Done" in (m.text or ""))
    assert await harness.services.storage.get_temperature(1017) is None
    assert await count_rows(harness, Generation) == 1  # the other user's
    [reply] = await harness.ask(me, "/history")
    assert "no generations yet" in (reply.text or "")


async def test_forget_cancel_keeps_everything(harness: Harness) -> None:
    me = harness.api.user(1019)
    await harness.ask(me, "/write البحر")
    [question] = await harness.ask(me, "/forget")
    await harness.api.press_button(me, question, "forget:no:1019")
    await harness.api.wait_for_edit(question, lambda m: "Cancelled" in (m.text or ""))
    assert await count_rows(harness, Generation) == 1


async def test_handler_error_is_logged_and_the_user_told_once(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    storage = harness.services.storage

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database exploded")

    storage.user_history = broken
    user = harness.api.user(1020)
    [reply] = await harness.ask(user, "/history")
    assert "something went wrong" in (reply.text or "")
    await asyncio.sleep(0.3)
    assert len(harness.api.messages_to(1020)) == 1
    assert "Traceback" not in (reply.text or "")
    assert any("database exploded" in str(r.exc_info) for r in caplog.records if r.exc_info)


async def test_preferences_and_history_survive_a_restart(harness: Harness) -> None:
    user = harness.api.user(1021)
    await harness.ask(user, "/temp 0.3")
    await harness.ask(user, "/write البحر")
    await harness.restart()
    [reply] = await harness.ask(user, "/temp")
    assert "is 0.3" in (reply.text or "")
    [history] = await harness.ask(user, "/history")
    assert "البحر" in (history.text or "")
    assert await count_rows(harness, User) == 1


async def test_fifty_users_at_once_are_each_answered_exactly_once(harness: Harness) -> None:
    users = [harness.api.user(2000 + i) for i in range(50)]
    started = asyncio.get_running_loop().time()
    await asyncio.gather(
        *(
            harness.api.send_text(u, "/write في الصباح " + "ب" * (i + 1))
            for i, u in enumerate(users)
        )
    )
    await asyncio.gather(*(harness.api.wait_for_messages(u.chat_id, 1, timeout=60) for u in users))
    elapsed = asyncio.get_running_loop().time() - started
    await asyncio.sleep(0.5)  # would catch a duplicate reply arriving late
    for i, u in enumerate(users):
        replies = harness.api.messages_to(u.chat_id)
        assert len(replies) == 1
        assert (replies[0].text or "").startswith("في الصباح " + "ب" * (i + 1))
    assert await count_rows(harness, Generation) == 50
    logging.getLogger(__name__).info("50-user burst answered in %.2fs", elapsed)


async def test_the_token_never_appears_in_logs_even_at_debug(
    tmp_path: Path, tiny_checkpoint_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from bot.settings.logging_setup import setup_logging

    setup_logging("DEBUG", TEST_TOKEN)
    try:
        async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT) as h:
            await h.ask(h.api.user(1030), "/write البحر")
    finally:
        logging.getLogger().handlers.clear()
    err = capfd.readouterr().err
    assert "getUpdates" in err  # httpx's request lines were logged...
    assert TEST_TOKEN not in err and TEST_TOKEN.split(":")[1] not in err  # ...redacted


async def test_first_start_without_a_checkpoint_trains_the_default_model(
    tmp_path: Path, tiny_checkpoint_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.runner import RunningBot
    from tests.botapi import FakeBotApi
    from tests.harness import make_settings

    (tmp_path / "corpus.txt").write_text(TINY_TEXT, encoding="utf-8")
    caplog.set_level(logging.INFO)
    async with FakeBotApi(TEST_TOKEN) as api:
        bot = RunningBot(make_settings(api, tmp_path, default_train_steps=20))
        await bot.start()
        try:
            assert (tmp_path / "checkpoints" / "default.pt").exists()
            user = api.user(1040)
            await api.send_text(user, "/write البحر")
            [reply] = await api.wait_for_messages(1040, 1)
            assert (reply.raw_text or "").startswith("البحر")
            version = await bot.application.bot_data["services"].storage.active_model_version()
            assert version.id == 1 and version.note == "default model"
        finally:
            await bot.stop()
    assert any("training the default model: step 20/20" in r.getMessage() for r in caplog.records)


async def test_a_full_queue_gets_a_polite_busy_reply_and_stores_nothing(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, max_batch=1, max_queue=1, default_length=4000
    ) as h:
        engine = h.services.engine

        async def until(condition: Callable[[], bool]) -> None:
            deadline = asyncio.get_running_loop().time() + 30
            while not condition():
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.001)

        running, waiting, refused = h.api.user(1050), h.api.user(1051), h.api.user(1052)
        await h.api.send_text(running, "/write البحر")
        await until(lambda: engine.active_requests == 1)
        await h.api.send_text(waiting, "/write المدينة")
        await until(lambda: engine.queue_depth == 1)
        [busy] = await h.ask(refused, "/write الحاسوب")
        assert "busy" in (busy.text or "")
        for user in (running, waiting):
            [done] = await h.api.wait_for_messages(user.chat_id, 1)
            assert len(done.raw_text or "") > 4000
        assert await count_rows(h, Generation) == 2
