"""Tests of the fake Bot API server itself, driven by real python-telegram-bot over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import re
import socket
import struct
import zlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter, TimedOut
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from tests.botapi import SECRET_HEADER, FakeBotApi, parse_html, parse_markdown_v2

TOKEN = "7000000001:AAFakeTokenForTheFakeBotApiTests"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def texts(updates: Sequence[Update]) -> list[str | None]:
    return [update.message.text if update.message else None for update in updates]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_get_me_and_send_message(api: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (7000000001, "test_char_bot", True)

    user = api.user(42, first_name="Ada")
    sent = await bot.send_message(user.id, "  hello /help  ")
    assert sent.text == "hello /help"  # trimmed like Telegram, commands detected
    assert sent.from_user is not None and sent.from_user.id == me.id
    assert sent.chat.id == 42 and sent.chat.type == "private"
    assert sent.parse_entities([MessageEntity.BOT_COMMAND]) == {sent.entities[0]: "/help"}

    [record] = api.messages_to(42)
    assert (record.kind, record.text, record.message_id) == ("text", "hello /help", 1)
    assert api.calls_to("sendMessage")[0].params == {"chat_id": 42, "text": "  hello /help  "}


async def test_long_poll_wakes_up_for_a_user_command(api: FakeBotApi, bot: Bot) -> None:
    user = api.user(42, username="ada")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await api.wait_for(lambda: api.calls_to("getUpdates") or None, timeout=5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    queued = await api.send_text(user, "/start@test_char_bot now")

    [update] = await asyncio.wait_for(poll, timeout=5)
    assert loop.time() - started < 1.0
    assert update.update_id == queued["update_id"]
    message = update.message
    assert message is not None and message.text == "/start@test_char_bot now"
    [entity] = message.entities
    assert (entity.type, entity.offset, entity.length) == (MessageEntity.BOT_COMMAND, 0, 20)
    assert message.from_user is not None and message.from_user.username == "ada"

    # The raw JSON is what Telegram would send, so Update.de_json gives the same result.
    parsed = Update.de_json(queued, bot)
    assert parsed.message is not None and parsed.message.entities == message.entities


async def test_offset_limit_and_timeout(api: FakeBotApi, bot: Bot) -> None:
    user = api.user(7)
    first = await api.send_text(user, "one")
    second = await api.send_text(user, "two")
    assert first["message"]["message_id"] + 1 == second["message"]["message_id"]

    ids = [first["update_id"], second["update_id"]]
    assert [u.update_id for u in await bot.get_updates()] == ids
    assert [u.update_id for u in await bot.get_updates()] == ids  # not confirmed yet
    assert [u.update_id for u in await bot.get_updates(limit=1)] == ids[:1]
    assert texts(await bot.get_updates(offset=ids[0] + 1)) == ["two"]
    assert len(api.pending_updates) == 1

    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(offset=ids[1] + 1, timeout=dtm.timedelta(seconds=0.3)) == ()
    assert 0.25 < loop.time() - started < 2.0
    assert api.pending_updates == []


async def test_two_polling_instances_conflict_like_telegram(api: FakeBotApi, bot: Bot) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await api.wait_for(lambda: api.calls_to("getUpdates") or None, timeout=5)
    async with Bot(TOKEN, base_url=api.base_url) as second_instance:
        assert await second_instance.get_updates() == ()
    with pytest.raises(Conflict, match=r"terminated by other getUpdates request"):
        await older


async def test_raw_http_parameter_encodings(api: FakeBotApi) -> None:
    user = api.user(21)
    keyboard = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with httpx.AsyncClient(base_url=f"{api.base_url}{TOKEN}/") as http:
        as_json = await http.post(
            "sendMessage", json={"chat_id": user.id, "text": "json", "reply_markup": keyboard}
        )
        as_form = await http.post(
            "SENDMESSAGE",  # method names are case-insensitive
            data={"chat_id": str(user.id), "text": "form", "reply_markup": json.dumps(keyboard)},
        )
        as_query = await http.get("sendMessage", params={"chat_id": user.id, "text": "query"})
        unknown = await http.post("getChatMemberCountOfTheMoon")
        wrong_token = await http.get(f"{api.base_url}1:bad/getMe")

    for response in (as_json, as_form, as_query):
        assert response.status_code == 200 and response.json()["ok"] is True
    assert as_form.json()["result"]["reply_markup"] == keyboard
    assert [m.callback_data for m in api.messages_to(user.id)] == [["a"], ["a"], []]
    assert unknown.status_code == 404 and unknown.json()["ok"] is False
    assert wrong_token.status_code == 401
    assert wrong_token.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_send_errors_match_telegram(api: FakeBotApi, bot: Bot) -> None:
    user = api.user(5)
    await bot.send_message(user.id, "x" * 4096 + "   ")
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(user.id, "x" * 4097)
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await bot.send_message(user.id, " \n ")
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(999, "nobody here")
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(user.id, "Done.", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "" at byte offset 2'):
        await bot.send_message(user.id, "a < b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(user.id, "hi", reply_to_message_id=12345)

    api.block(user)
    with pytest.raises(Forbidden, match=r"bot was blocked by the user"):
        await bot.send_message(user.id, "hello?")
    api.block(user, blocked=False)

    api.inject_error("sendMessage", "Too Many Requests: retry after 3", 429, retry_after=3)
    with pytest.raises(RetryAfter):
        await bot.send_message(user.id, "flood")
    assert [m.text for m in api.messages_to(user.id)] == ["x" * 4096]
    assert api.calls_to("sendMessage")[-1].status == 429


async def test_html_is_rendered_and_edits_follow_telegram_rules(api: FakeBotApi, bot: Bot) -> None:
    user = api.user(8)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Stop", callback_data="stop")]])
    sent = await bot.send_message(
        user.id, "<b>Training</b> step 1 &lt;1%&gt;", parse_mode="HTML", reply_markup=keyboard
    )
    assert sent.text == "Training step 1 <1%>"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 8)]
    record = api.messages_to(user.id)[0]
    assert record.raw_text == "<b>Training</b> step 1 &lt;1%&gt;"
    assert record.callback_data == ["stop"]

    with pytest.raises(BadRequest, match=r"^Message is not modified: specified new message"):
        await sent.edit_text(
            "<b>Training</b> step 1 &lt;1%&gt;", parse_mode="HTML", reply_markup=keyboard
        )

    async def edit_later() -> None:
        await asyncio.sleep(0.05)
        await sent.edit_text("<b>Training</b> step 2", parse_mode="HTML", reply_markup=keyboard)

    editing = asyncio.create_task(edit_later())
    await api.wait_for_edit(record, lambda m: len(m.edits) == 1, timeout=5)
    await editing
    # Without reply_markup the keyboard goes away, which is itself a modification.
    await sent.edit_text("<b>Training</b> step 2", parse_mode="HTML")
    assert record.edits == ["Training step 2", "Training step 2"]
    assert record.reply_markup is None and record.buttons == []

    with pytest.raises(BadRequest, match=r"^Message_too_long$"):
        await sent.edit_text("y" * 5000)
    assert await sent.delete() is True
    assert record.deleted
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await sent.edit_text("gone")


async def test_inline_keyboard_press_and_answer(api: FakeBotApi, bot: Bot) -> None:
    user = api.user(9)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes", callback_data="yes"),
                InlineKeyboardButton("No", callback_data="no"),
            ]
        ]
    )
    await bot.send_message(user.id, "Sure?", reply_markup=keyboard)
    [record] = await api.wait_for_messages(user.id)

    with pytest.raises(ValueError, match=r"no button with callback_data 'maybe'"):
        await api.press_button(user, record, "maybe")
    query_id = await api.press_button(user, record, "yes")

    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None and (query.id, query.data) == (query_id, "yes")
    assert isinstance(query.message, Message) and query.message.message_id == record.message_id
    assert query.message.reply_markup == keyboard

    # A reply to the bot's message quotes it, keyboard included.
    reply = await api.send_text(user, "why?", reply_to=record)
    quoted = reply["message"]["reply_to_message"]
    assert (quoted["text"], quoted["from"]["id"]) == ("Sure?", api.bot_user["id"])

    await query.answer("Noted", show_alert=True)
    assert (await api.wait_for_callback_answer(query_id))["text"] == "Noted"
    assert api.callback_answers[query_id] == {
        "text": "Noted",
        "show_alert": True,
        "url": None,
        "cache_time": None,
    }
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer("again")

    with pytest.raises(BadRequest, match=r"^Button_data_invalid$"):
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
        await bot.send_message(user.id, "bad", reply_markup=too_long)


async def test_user_document_round_trip_through_get_file(api: FakeBotApi, bot: Bot) -> None:
    admin = api.user(100, first_name="Admin")
    content = "سطر أول\nsecond line\n".encode()
    queued = await api.send_document(admin, "corpus.txt", content, caption="/upload corpus")

    [update] = await bot.get_updates()
    message = update.message
    assert message is not None and message.document is not None
    assert (message.document.file_name, message.document.mime_type) == ("corpus.txt", "text/plain")
    assert message.document.file_size == len(content)
    assert message.caption == "/upload corpus"
    assert [(e.type, e.offset, e.length) for e in message.caption_entities] == [
        ("bot_command", 0, 7)
    ]

    file = await bot.get_file(message.document.file_id)
    assert file.file_path is not None and file.file_path.startswith(api.base_file_url)
    assert bytes(await file.download_as_bytearray()) == content
    assert api.downloads == [file.file_path.rsplit(TOKEN + "/", 1)[1]]

    # A reply to the uploaded document quotes it in full.
    reply = await api.send_text(admin, "/train", reply_to=queued["message"]["message_id"])
    assert reply["message"]["reply_to_message"]["document"]["file_name"] == "corpus.txt"


async def test_bot_documents_and_photos_are_recorded(api: FakeBotApi, bot: Bot) -> None:
    user = api.user(11)
    csv = b"step,loss\n1,2.5\n2,2.1\n"
    doc = await bot.send_document(
        user.id, csv, filename="loss.csv", caption="<i>Loss</i>", parse_mode="HTML"
    )
    assert doc.document is not None and doc.document.file_name == "loss.csv"
    assert doc.caption == "Loss"

    image = png(64, 32)
    photo = await bot.send_photo(
        user.id, image, caption="Loss curve", reply_to_message_id=doc.message_id
    )
    assert (photo.photo[-1].width, photo.photo[-1].height) == (64, 32)
    assert (
        photo.reply_to_message is not None and photo.reply_to_message.message_id == doc.message_id
    )

    document_record, photo_record = api.messages_to(user.id)
    assert (document_record.kind, document_record.filename) == ("document", "loss.csv")
    assert document_record.document == csv
    assert (photo_record.kind, photo_record.document, photo_record.caption) == (
        "photo",
        image,
        "Loss curve",
    )
    assert photo_record.reply_to_message_id == doc.message_id
    upload = api.calls_to("sendPhoto")[0].files["photo"]
    assert upload.content == image

    fetched = await (await bot.get_file(photo.photo[-1].file_id)).download_as_bytearray()
    assert bytes(fetched) == image
    # Re-sending by file_id works without a new upload.
    again = await bot.send_document(user.id, doc.document.file_id)
    assert again.document is not None and again.document.file_id == doc.document.file_id

    with pytest.raises(BadRequest, match=r"^Image_process_failed$"):
        await bot.send_photo(user.id, b"not an image", filename="x.png")


async def test_commands_are_stored_per_scope_and_language(api: FakeBotApi, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    admin_scope = BotCommandScopeChat(100)
    await bot.set_my_commands([BotCommand("train", "Train")], scope=admin_scope, language_code="ar")

    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert await bot.get_my_commands(scope=admin_scope) == ()
    assert [
        c.command for c in await bot.get_my_commands(scope=admin_scope, language_code="ar")
    ] == ["train"]
    assert api.commands_for({"type": "chat", "chat_id": 100}, "ar") == [
        {"command": "train", "description": "Train"}
    ]
    with pytest.raises(BadRequest, match=r"^Bot_command_invalid$"):
        await bot.set_my_commands([BotCommand("Start", "Capital letters are not allowed")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_wrong_token_and_timeout_description(api: FakeBotApi) -> None:
    with pytest.raises(InvalidToken, match=r"rejected by the server"):
        async with Bot("123:wrong", base_url=api.base_url):
            pass
    user = api.user(3)
    with pytest.raises(TimeoutError, match=r"bot messages in chat 3: 0"):
        await api.wait_for_messages(user.id, timeout=0.05)


async def test_webhook_delivery_with_secret(api: FakeBotApi, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        # Fail the first delivery to show it is retried, as Telegram does.
        return web.Response(status=500 if len(received) == 1 else 200)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        user = api.user(12)
        assert await bot.set_webhook(url, secret_token="s3cret-token", allowed_updates=["message"])
        queued = await api.send_text(user, "/start")
        await api.wait_for(lambda: len(received) >= 2 or None, timeout=5)
        assert received[1] == ("s3cret-token", queued)
        assert received[0] == received[1]
        await api.wait_for(lambda: not api.pending_updates, timeout=5)

        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (url, 0)
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        with pytest.raises(Conflict, match=r"can't use getUpdates method while webhook is active"):
            await bot.get_updates()
        assert await api.post_raw_to_webhook({"update_id": 1}, secret=None) == 200
        assert received[-1] == (None, {"update_id": 1})

        assert await bot.delete_webhook()
        await api.send_text(user, "back to polling")
        assert texts(await bot.get_updates()) == ["back to polling"]
    finally:
        await runner.cleanup()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(" ".join(context.args or []) or "(nothing)")


def build_application(api: FakeBotApi) -> Application:  # type: ignore[type-arg]
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("echo", echo))
    return application


async def test_real_application_answers_a_command_by_polling(api: FakeBotApi) -> None:
    user = api.user(77, first_name="Grace")
    application = build_application(api)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        await api.send_text(user, "/echo hi")
        await api.send_text(user, "/echo@test_char_bot there")
        first, second = await api.wait_for_messages(user.id, count=2, timeout=10)
        assert (first.text, second.text) == ("hi", "there")
        await application.updater.stop()
        await application.stop()
    # PTB confirms what it fetched with a last getUpdates on the way out.
    assert api.pending_updates == []
    assert api.calls_to("deleteWebhook"), "start_polling bootstraps with deleteWebhook"


async def test_real_application_answers_through_a_webhook(api: FakeBotApi) -> None:
    user = api.user(78)
    application = build_application(api)
    port = free_port()
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="telegram",
            webhook_url=f"http://127.0.0.1:{port}/telegram",
            secret_token="right-secret",
        )
        assert api.webhook is not None and api.webhook.secret_token == "right-secret"
        mark = api.mark(user.id)
        await api.send_text(user, "/echo via webhook")
        [reply] = await api.wait_for_messages(user.id, since=mark, timeout=10)
        assert reply.text == "via webhook"

        update = {"update_id": 10**9, "message": {"message_id": 1}}
        assert await api.post_raw_to_webhook(update, secret="wrong-secret") == 403
        assert await api.post_raw_to_webhook(update, secret=None) == 403
        await application.updater.stop()
        await application.stop()


@pytest.mark.parametrize(
    ("markup", "text", "entities"),
    [
        ("<b>a</b><i>b</i>", "ab", [("bold", 0, 1), ("italic", 1, 1)]),
        ("🏟 <u>x</u>", "🏟 x", [("underline", 3, 1)]),
        ('<pre><code class="language-py">x</code></pre>', "x", [("pre", 0, 1)]),
    ],
)
def test_html_parser(markup: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    parsed_text, parsed = parse_html(markup)
    assert parsed_text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed] == entities


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("🏟 🏟_abac * asd ", "Can't find end of Bold entity at byte offset 15"),
        ("[telegram\\.org](asd\\)", "Can't find end of a URL at byte offset 16"),
        ("a-b", "Character '-' is reserved and must be escaped with the preceding '\\'"),
    ],
)
def test_markdown_v2_errors_match_tdlib(markup: str, error: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(error)):
        parse_markdown_v2(markup)


async def test_an_injected_delay_holds_the_answer_and_a_short_read_timeout_expires(
    api: FakeBotApi, bot: Bot
) -> None:
    user = api.user(9)
    api.inject_delay("sendMessage", 0.5)
    with pytest.raises(TimedOut):
        await bot.send_message(user.id, "slow", read_timeout=0.1)
    await bot.send_message(user.id, "fast", read_timeout=5)
    await api.wait_for_messages(user.id, 2, timeout=5)
    # Telegram delivers a message whose answer the client gave up on: both arrive.
    assert sorted(m.text or "" for m in api.messages_to(user.id)) == ["fast", "slow"]
