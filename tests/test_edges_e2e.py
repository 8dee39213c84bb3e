"""Rough edges users hit, end to end over the loopback Bot API: stale and doubled button
presses, presses too old to answer, user data asked for in a group, control characters
echoed back, ambiguous numbers, long replied-to texts, reused ids, blocked users'
spinners, refused presses that still wrote, "typing…" late, an upload Telegram refuses,
and an edited /write."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.storage.schema import GenerationRow, TrainingRunRow, UserRow
from tests.botapi import FakeUser, SentMessage
from tests.botapi.objects import find_bot_commands
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, FAST_TRAINING, Harness, running_bot
from tests.test_admin_e2e import count, upload, wait_run_finished

SEED = "في الصباح"
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
SORRY = "Sorry, something went wrong"


async def generations(h: Harness) -> list[GenerationRow]:
    async with h.services.storage.session_maker() as session:
        return list(await session.scalars(select(GenerationRow).order_by(GenerationRow.id)))


async def user_row(h: Harness, user_id: int) -> UserRow | None:
    async with h.services.storage.session_maker() as session:
        return await session.get(UserRow, user_id)


def texts(h: Harness, chat_id: int) -> list[str]:
    return [m.text or m.caption or "" for m in h.api.messages_to(chat_id)]


async def confirmation(h: Harness, me: FakeUser) -> SentMessage:
    [ask] = await h.ask(me, "/forget")
    assert ask.callback_data == [f"forget:yes:{me.id}", f"forget:no:{me.id}"]
    return ask


async def test_a_cancelled_forget_confirmation_is_spent(harness: Harness) -> None:
    me = harness.api.user(3101, "Ann")
    await harness.ask(me, f"/write {SEED}")
    ask = await confirmation(harness, me)
    cancel = await harness.api.press_button(me, ask, f"forget:no:{me.id}")
    await harness.api.wait_for_callback_answer(cancel)
    await harness.api.wait_for_edit(ask, lambda m: (m.text or "").startswith("Cancelled"))
    # The same message's Yes, from a keyboard the client had not refreshed (or a double tap)
    stale = await harness.api.press_forged_button(me, ask, f"forget:yes:{me.id}")
    answer = await harness.api.wait_for_callback_answer(stale)
    assert answer["text"] == "This confirmation has expired. Send /forget again."
    assert len(await generations(harness)) == 1
    assert (ask.text or "").startswith("Cancelled")


async def test_a_forget_press_too_old_to_answer_still_deletes(harness: Harness) -> None:
    me = harness.api.user(3102, "Ann")
    await harness.ask(me, f"/write {SEED}")
    ask = await confirmation(harness, me)
    harness.api.inject_error("answerCallbackQuery", QUERY_TOO_OLD)
    await harness.api.press_button(me, ask, f"forget:yes:{me.id}")
    await harness.api.wait_for_edit(ask, lambda m: (m.text or "").startswith("Done"))
    assert await generations(harness) == []
    assert not any(SORRY in text for text in texts(harness, me.chat_id))


async def test_users_sent_in_a_group_are_listed_privately(harness: Harness) -> None:
    admin = harness.api.user(ADMIN_ID, "Admin")
    member = harness.api.user(3103, "Ann")
    group = harness.api.group(-3103, [admin, member])
    await harness.ask(member, f"/write {SEED}")
    since = harness.api.mark(group)
    await harness.api.send_text(admin, "/users", chat=group)
    [note] = await harness.api.wait_for_messages(group, 1, since=since)
    assert note.text == "Sent to you in a private chat: user data never goes into a group."
    [listing] = await harness.api.wait_for_messages(admin.chat_id, 1)
    assert (listing.text or "").startswith("Users 1–") and "3103 · Ann" in (listing.text or "")
    assert all("3103" not in text for text in texts(harness, group))


async def test_control_characters_are_escaped_in_length_and_temp_replies(
    harness: Harness,
) -> None:
    me = harness.api.user(3104, "Ann")
    for command in ("/length \u202e300", "/length \x00", "/temp \u202e0.5"):
        [told] = await harness.ask(me, command)
        text = told.text or ""
        assert "\u202e" not in text and "\x00" not in text, command
        assert "\\u202e" in text or "\\u0000" in text, command


async def test_two_numbers_are_not_one_length(harness: Harness) -> None:
    me = harness.api.user(3105, "Ann")
    [told] = await harness.ask(me, "/length 10 20")
    assert (told.text or "").startswith("“10 20” is not a whole number.")
    row = await user_row(harness, me.id)
    assert row is None or row.length is None


async def test_write_replying_to_a_long_text_continues_its_end(harness: Harness) -> None:
    me = harness.api.user(3106, "Ann")
    long_text = (TINY_TEXT.replace("\n", " ") * 20)[:1009].strip()
    update = await harness.api.send_text(me, long_text)
    await harness.api.wait_for_messages(me.chat_id, 1)  # the hint for plain text
    since = harness.api.mark(me.chat_id)
    await harness.api.send_text(me, "/write", reply_to=update["message"]["message_id"])
    [written] = await harness.api.wait_for_messages(me.chat_id, 1, since=since)
    limit = harness.settings.max_seed_chars
    [row] = await generations(harness)
    assert row.seed == long_text[-limit:]
    assert not (written.text or "").startswith("That seed is")


async def test_a_forgotten_texts_id_is_never_given_again(harness: Harness) -> None:
    me = harness.api.user(3107, "Ann")
    [first] = await harness.ask(me, f"/write {SEED}")
    [forgotten] = await generations(harness)
    ask = await confirmation(harness, me)
    await harness.api.press_button(me, ask, f"forget:yes:{me.id}")
    await harness.api.wait_for_edit(ask, lambda m: (m.text or "").startswith("Done"))
    await harness.ask(me, f"/write {SEED}")
    [new] = await generations(harness)
    assert new.id > forgotten.id
    # "continue" under the forgotten text no longer continues anything
    query = await harness.api.press_button(me, first, f"w:more:{forgotten.id}")
    answer = await harness.api.wait_for_callback_answer(query)
    assert (answer["text"] or "").startswith("This text is no longer stored")
    assert len(await generations(harness)) == 1


async def test_a_double_tap_on_a_pager_shows_the_page_without_an_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    admin = harness.api.user(ADMIN_ID, "Admin")
    for n in range(12):
        await harness.services.storage.upsert_user(3200 + n, f"U{n}", None, None, "en")
    [page] = await harness.ask(admin, "/users")
    assert page.callback_data == ["users:a:10"]
    first = await harness.api.press_button(admin, page, "users:a:10")
    second = await harness.api.press_forged_button(admin, page, "users:a:10")
    for query in (first, second):
        await harness.api.wait_for_callback_answer(query)
    await harness.api.wait_for_edit(page, lambda m: (m.text or "").startswith("Users 11–"))

    def both_edits_answered() -> bool | None:
        edits = harness.api.calls_to("editMessageText")
        return (len(edits) == 2 and all(c.status is not None for c in edits)) or None

    await harness.api.wait_for(both_edits_answered, 30.0, "both presses' edits")
    await harness.ask(admin, "/help")  # handled after both presses: everything said is in
    assert len(harness.api.messages_to(admin.chat_id)) == 2  # the page and /help: no apology
    # "message is not modified" is no error: nothing is logged as one
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_blocked_users_presses_and_inline_queries_are_answered(
    harness: Harness,
) -> None:
    admin = harness.api.user(ADMIN_ID, "Admin")
    me = harness.api.user(3108, "Ann")
    [text] = await harness.ask(me, f"/write {SEED}")
    await harness.ask(admin, f"/block {me.id}")
    [notice] = await harness.ask(me, f"/write {SEED}")  # the day's one notice
    assert (notice.text or "").startswith("Sorry, you can't use this bot.")
    [row] = await generations(harness)
    query = await harness.api.press_button(me, text, f"w:again:{row.id}")
    answer = await harness.api.wait_for_callback_answer(query)
    assert answer["text"] is None
    inline = await harness.api.send_inline_query(me, SEED)
    offered = await harness.api.wait_for_inline_answer(inline)
    assert offered.results == []
    assert len(await generations(harness)) == 1


async def test_a_refused_press_writes_nothing(tmp_path: Path, tiny_checkpoint_path: Path) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, user_rate_per_minute=1) as h:
        me = h.api.user(3109, "Ann")
        [text] = await h.ask(me, f"/write {SEED}")
        [row] = await generations(h)
        me.first_name = "Renamed"  # what an upsert of the user row would write
        query = await h.api.press_button(me, text, f"w:again:{row.id}")
        answer = await h.api.wait_for_callback_answer(query)
        assert "faster than I can write" in (answer["text"] or "")
        stored = await user_row(h, me.id)
        assert stored is not None and stored.first_name == "Ann"
        assert len(await generations(h)) == 1


async def test_typing_is_shown_before_the_users_database_work(harness: Harness) -> None:
    """The order, made visible: this user's row cannot be written (a trigger refuses it),
    so whatever /write sends before that write is all the user sees before the apology."""
    me = harness.api.user(3110, "Ann")

    def refuse_the_users_row() -> None:  # in a thread: the bot may hold the write lock
        with contextlib.closing(sqlite3.connect(harness.workdir / "bot.db", timeout=30)) as db:
            for event in ("INSERT", "UPDATE"):
                db.execute(
                    f"CREATE TRIGGER refuse_{event.lower()} BEFORE {event} ON users "
                    f"WHEN NEW.id = {me.id} BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            db.commit()

    await asyncio.to_thread(refuse_the_users_row)
    [apology] = await harness.ask(me, f"/write {SEED}")
    assert (apology.text or "").startswith(SORRY)
    typing = [c for c in harness.api.calls_to("sendChatAction") if c.params["chat_id"] == me.id]
    assert len(typing) == 1 and typing[0].params["action"] == "typing"
    assert await generations(harness) == []


async def test_an_export_telegram_refuses_as_too_large_says_so(harness: Harness) -> None:
    admin = harness.api.user(ADMIN_ID, "Admin")
    await harness.ask(harness.api.user(3111, "Ann"), f"/write {SEED}")
    harness.api.inject_error("sendDocument", "Request Entity Too Large", 413)
    [told] = await harness.ask(admin, "/export")
    assert (told.text or "").startswith("Telegram refused the file as too large to upload.")


async def test_an_edited_write_is_answered_with_a_new_text(harness: Harness) -> None:
    me = harness.api.user(3112, "Ann")
    update = await harness.api.send_text(me, "/write في الصبح")
    await harness.api.wait_for_messages(me.chat_id, 1)
    fixed = f"/write {SEED}"
    edited = {
        **update["message"],
        "text": fixed,
        "entities": find_bot_commands(fixed),
        "edit_date": int(time.time()),
    }
    since = harness.api.mark(me.chat_id)
    await harness.api.enqueue_update({"edited_message": edited})
    [again] = await harness.api.wait_for_messages(me.chat_id, 1, since=since)
    assert (again.text or "").startswith(SEED)
    rows = await generations(harness)
    assert [r.seed for r in rows] == ["في الصبح", SEED]
    async with harness.services.storage.session_maker() as session:
        assert await session.scalar(select(func.count()).select_from(GenerationRow)) == 2


async def double_tap(h: Harness, user: FakeUser, message: SentMessage, data: str) -> None:
    """Two presses of one button, the second sent before the first is handled (both carry
    the keyboard); returns once both are answered and handled to their end."""
    first = await h.api.press_button(user, message, data)
    second = await h.api.press_forged_button(user, message, data)
    for query in (first, second):
        await h.api.wait_for_callback_answer(query)
    await all_handled(h)


async def all_handled(h: Harness, timeout: float = 60.0) -> None:
    """Every update sent is handled to its end (done in the durable inbox), so whatever a
    press was going to say has been said."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with h.services.storage.session_maker() as session:
            open_ = await session.scalar(text("SELECT count(*) FROM updates WHERE done_at IS NULL"))
        if not h.api.pending_updates and open_ == 0:
            return
        assert asyncio.get_running_loop().time() < deadline, "updates left unhandled"
        await asyncio.sleep(0.02)


async def test_a_double_tap_on_activate_anyway_activates_once_and_answers_once(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    # One training step cannot beat the active model on its own corpus: an offer.
    overrides = {**FAST_TRAINING, "retrain_steps": 1}
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **overrides) as h:
        admin = h.api.user(ADMIN_ID, "Admin")
        await upload(h, admin, TINY_TEXT.encode())
        await wait_run_finished(h)
        offer = await h.api.wait_for(
            lambda: next((m for m in h.api.messages_to(ADMIN_ID) if m.callback_data), None)
        )
        since = h.api.mark(ADMIN_ID)
        await double_tap(h, admin, offer, "mv:use:2")
        said = [m.text or "" for m in h.api.messages_to(ADMIN_ID)[since:]]
        assert said == ["Version 2 is now active."]
        assert h.services.engine.version == 2
        assert [v.id for v in await h.services.storage.list_model_versions() if v.is_active] == [2]


@pytest.mark.slow
async def test_a_double_tap_on_train_anyway_trains_once_and_answers_once(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    # The current corpus again: the same plan (from scratch, nothing mixed in) whatever
    # the first run's outcome, so the second upload is asked about.
    overrides = {**FAST_TRAINING, "retrain_steps": 1}  # what a run learns does not matter
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **overrides) as h:
        admin = h.api.user(ADMIN_ID, "Admin")
        await upload(h, admin, TINY_TEXT.encode())
        await wait_run_finished(h)
        question = await upload(h, admin, TINY_TEXT.encode())
        assert "already trained with the same settings" in (question.text or "")
        since = h.api.mark(ADMIN_ID)
        await double_tap(h, admin, question, question.callback_data[0])
        await wait_run_finished(h)
        await all_handled(h)
        # one run's messages: its status (edited to its end) and its outcome (and the loss
        # curve); no second start, no "a training is already running" for the second press
        said = [m.text or "" for m in h.api.messages_to(ADMIN_ID)[since:] if m.kind == "text"]
        assert len(said) == 2, said
        assert said[0].startswith("Training run #2: done"), said
        assert said[1].startswith("Training run #2 finished"), said
        assert await count(h, TrainingRunRow) == 2
