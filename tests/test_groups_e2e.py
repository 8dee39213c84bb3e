"""Group chats end to end (captions for other bots, admin review
kept out of groups), forged buttons, and the answers to messages no command takes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bot.storage.schema import CorpusRow, GenerationRow
from tests.botapi import SentMessage
from tests.harness import ADMIN_ID, Harness

GROUP = -1001234
BOT = "test_char_bot"  # the loopback server's bot username


async def count(h: Harness, model: type) -> int:
    async with h.services.storage.session_maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def quiet(h: Harness) -> None:
    """Let every queued update be fetched and handled (handlers run concurrently)."""
    await h.settled()


async def said_in(h: Harness, chat_id: int, since: int) -> list[SentMessage]:
    await quiet(h)
    return h.api.messages_to(chat_id)[since:]


# ------------------------------------------------------ item 14: captions and @bots


async def test_a_caption_for_another_bot_is_ignored(harness: Harness) -> None:
    admin = harness.api.user(ADMIN_ID, "Admin")
    harness.api.group(GROUP, [admin])
    since, corpora = harness.api.mark(GROUP), await count(harness, CorpusRow)
    for caption in ("/retrain@OtherBot", "/retrain@OtherBot append", "/write@OtherBot البحر"):
        await harness.api.send_document(admin, "c.txt", b"short", caption=caption, chat=GROUP)
    assert await said_in(harness, GROUP, since) == []
    assert harness.api.calls_to("getFile") == [] and await count(harness, CorpusRow) == corpora
    assert await count(harness, GenerationRow) == 0


@pytest.mark.parametrize("caption", [f"/retrain@{BOT}", f"/retrain@{BOT.upper()}", "/retrain"])
async def test_a_caption_for_this_bot_is_taken(harness: Harness, caption: str) -> None:
    admin = harness.api.user(ADMIN_ID, "Admin")
    harness.api.group(GROUP, [admin])
    since = harness.api.mark(GROUP)
    await harness.api.send_document(admin, "c.txt", b"too short", caption=caption, chat=GROUP)
    [reply] = await harness.api.wait_for_messages(GROUP, 1, since=since)
    assert "can't train on this text" in (reply.text or "")


async def test_a_document_or_photo_captioned_write_is_a_write(harness: Harness) -> None:
    user = harness.api.user(9201)
    since = harness.api.mark(user.chat_id)
    await harness.api.send_document(user, "x.txt", b"anything", caption="/write البحر")
    [text] = await harness.api.wait_for_messages(user.chat_id, 1, since=since)
    assert (text.raw_text or "").startswith("البحر")
    assert await count(harness, GenerationRow) == 1


# ------------------------------------------------ item 15: admin review in groups


@pytest.mark.parametrize("command", ["/generations", "/export", "/stats"])
async def test_admin_review_in_a_group_goes_to_the_private_chat(
    harness: Harness, command: str
) -> None:
    admin, ann = harness.api.user(ADMIN_ID, "Admin"), harness.api.user(9301, "Ann")
    harness.api.group(GROUP, [admin, ann], chat_type="supergroup")
    await harness.ask(ann, "/write البحر")
    group_since, private_since = harness.api.mark(GROUP), harness.api.mark(ADMIN_ID)
    await harness.api.send_text(admin, command, chat=GROUP)
    [note] = await harness.api.wait_for_messages(GROUP, 1, since=group_since)
    [data] = await harness.api.wait_for_messages(ADMIN_ID, 1, since=private_since)
    assert "private chat" in (note.text or "") and note.kind == "text"
    assert "البحر" not in (note.text or "") and "Users:" not in (note.text or "")
    if command == "/export":
        assert data.kind == "document" and "البحر" in (data.document or b"").decode("utf-8-sig")
    elif command == "/generations":
        assert "البحر" in (data.text or "")
    else:
        assert "Users: 1" in (data.text or "")
    assert len(await said_in(harness, GROUP, group_since)) == 1


async def test_admin_review_without_a_private_chat_gets_a_hint_and_posts_nothing(
    harness: Harness,
) -> None:
    admin, ann = harness.api.user(ADMIN_ID, "Admin"), harness.api.user(9302, "Ann")
    harness.api.group(GROUP, [admin, ann])
    await harness.ask(ann, "/write البحر")
    harness.api.no_private_chat(admin)
    since = harness.api.mark(GROUP)
    await harness.api.send_text(admin, f"/export@{BOT}", chat=GROUP)
    [hint] = await harness.api.wait_for_messages(GROUP, 1, since=since)
    assert "open a private chat" in (hint.text or "")
    assert [m.kind for m in await said_in(harness, GROUP, since)] == ["text"]


# -------------------------------------------------- item 16: forged confirmations


async def test_a_forged_button_cannot_confirm_someone_elses_forget(harness: Harness) -> None:
    victim, attacker = harness.api.user(9401, "Vic"), harness.api.user(9402, "Mal")
    harness.api.group(GROUP, [victim, attacker])
    await harness.ask(victim, "/write البحر")
    await harness.ask(attacker, "/write المدينة")
    since = harness.api.mark(GROUP)
    await harness.api.send_text(victim, "/forget", chat=GROUP)
    [question] = await harness.api.wait_for_messages(GROUP, 1, since=since)
    for data in (f"forget:yes:{attacker.id}", f"forget:no:{attacker.id}"):
        forged = await harness.api.press_forged_button(attacker, question, data)
        answer = await harness.api.wait_for_callback_answer(forged)
        assert answer["show_alert"] and "someone else" in (answer["text"] or "")
    genuine = await harness.api.press_button(attacker, question, f"forget:yes:{victim.id}")
    assert "someone else" in ((await harness.api.wait_for_callback_answer(genuine))["text"] or "")
    assert question.edits == []
    assert await count(harness, GenerationRow) == 2  # nobody's data was deleted
    await harness.api.press_button(victim, question, f"forget:yes:{victim.id}")
    await harness.api.wait_for_edit(question, lambda m: "Done" in (m.text or ""))
    assert await count(harness, GenerationRow) == 1


async def test_forged_data_in_a_private_chat_is_refused(harness: Harness) -> None:
    me = harness.api.user(9403)
    await harness.ask(me, "/write البحر")
    [question] = await harness.ask(me, "/forget")
    forged = await harness.api.press_forged_button(me, question, "forget:yes:9999")
    assert "someone else" in ((await harness.api.wait_for_callback_answer(forged))["text"] or "")
    assert question.edits == [] and await count(harness, GenerationRow) == 1


# --------------------------------------------- item 17: what no command takes


async def test_unknown_commands_and_plain_text_get_a_hint_in_private(harness: Harness) -> None:
    user = harness.api.user(9501)
    [hint] = await harness.ask(user, "/frobnicate")
    assert "/help" in (hint.text or "") and "don't know" in (hint.text or "")
    [hint] = await harness.ask(user, "hello there")
    assert "/write" in (hint.text or "") and "/help" in (hint.text or "")
    arabic = harness.api.user(9502, language_code="ar")
    [hint] = await harness.ask(arabic, "مرحبا")
    assert "/write" in (hint.text or "") and "النص" in (hint.text or "")
    # An admin's text is material for "/retrain" as a reply: no hint to answer it.
    admin = harness.api.user(ADMIN_ID, "Admin")
    since = harness.api.mark(ADMIN_ID)
    await harness.api.send_text(admin, "نص طويل للتدريب")
    assert await said_in(harness, ADMIN_ID, since) == []


async def test_known_commands_get_no_extra_hint(harness: Harness) -> None:
    user = harness.api.user(9503)

    async def ping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("pong")

    # A command another module adds later, in the default group, must still win.
    harness.bot.application.add_handler(CommandHandler("ping", ping))
    since = harness.api.mark(user.chat_id)
    for command in ("/help", "/temp", "/ping"):
        await harness.api.send_text(user, command)
    texts = [m.text or "" for m in await said_in(harness, user.chat_id, since)]
    assert len(texts) == 3 and "pong" in texts
    assert not any("don't know" in t for t in texts)


async def test_groups_hear_only_what_is_addressed_to_the_bot(harness: Harness) -> None:
    ann, bob = harness.api.user(9504, "Ann"), harness.api.user(9505, "Bob")
    harness.api.group(GROUP, [ann, bob])
    since = harness.api.mark(GROUP)
    await harness.api.send_text(ann, "/frobnicate", chat=GROUP)
    await harness.api.send_text(bob, "hello everyone", chat=GROUP)
    await harness.api.send_text(ann, "/start@OtherBot", chat=GROUP)
    assert await said_in(harness, GROUP, since) == []

    await harness.api.send_text(ann, f"/frobnicate@{BOT}", chat=GROUP)
    [hint] = await harness.api.wait_for_messages(GROUP, 1, since=since)
    assert "don't know" in (hint.text or "")
    since = harness.api.mark(GROUP)
    await harness.api.send_text(bob, "what do you do?", chat=GROUP, reply_to=hint)
    [hint2] = await harness.api.wait_for_messages(GROUP, 1, since=since)
    assert "/write" in (hint2.text or "")
    assert len(await said_in(harness, GROUP, since)) == 1


async def test_write_in_a_group_answers_the_asker(harness: Harness) -> None:
    ann = harness.api.user(9506, "Ann")
    harness.api.group(GROUP, [ann])
    since = harness.api.mark(GROUP)
    sent = await harness.api.send_text(ann, f"/write@{BOT} البحر", chat=GROUP)
    [text] = await harness.api.wait_for_messages(GROUP, 1, since=since)
    assert (text.raw_text or "").startswith("البحر")
    assert text.reply_to_message_id == sent["message"]["message_id"]
