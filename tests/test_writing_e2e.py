"""The writing experience end to end: the buttons under every text, /write as a reply,
/length, inline mode; the real bot over HTTP against the loopback Bot API, SQLite on disk."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage.schema import GenerationRow, UserRow
from tests.botapi import FakeUser, InlineAnswer, SentMessage
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, Harness, running_bot
from tests.postgres import fresh_postgres_database, needs_postgres

SEED = "في الصباح"
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


async def rows(h: Harness) -> list[GenerationRow]:
    async with h.services.storage.session_maker() as session:
        return list(await session.scalars(select(GenerationRow).order_by(GenerationRow.id)))


async def settled_rows(h: Harness, count: int) -> list[GenerationRow]:
    """The rows once ``count`` exist and all are marked delivered (the mark follows
    Telegram's confirmation, so it can lag behind the message a test sees)."""
    for _ in range(300):
        found = await rows(h)
        if len(found) >= count and all(r.delivered for r in found):
            return found
        await asyncio.sleep(0.05)
    return await rows(h)


async def user_row(h: Harness, user_id: int) -> UserRow | None:
    async with h.services.storage.session_maker() as session:
        return await session.get(UserRow, user_id)


def data(message: SentMessage, action: str) -> str:
    [found] = [d for d in message.callback_data if d.startswith(f"w:{action}:")]
    return found


async def press(
    h: Harness, user: FakeUser, message: SentMessage, action: str, chat: int | None = None
) -> tuple[dict[str, object], list[SentMessage]]:
    """Press the button; the callback answer, and the new message if one is expected."""
    chat_id = user.chat_id if chat is None else chat
    since = h.api.mark(chat_id)
    query = await h.api.press_button(user, message, data(message, action))
    answer = await h.api.wait_for_callback_answer(query)
    return answer, h.api.messages_to(chat_id)[since:]


async def written(h: Harness, user: FakeUser, text: str) -> SentMessage:
    [reply] = await h.ask(user, text)
    return reply


# ------------------------------------------------------------------ item 1: buttons


async def test_every_write_reply_has_four_buttons_naming_its_generation(
    harness: Harness,
) -> None:
    me = harness.api.user(1401, "Ann")
    reply = await written(harness, me, f"/write {SEED}")
    [row] = await rows(harness)
    assert row.source == "command" and row.parent_id is None
    assert reply.callback_data == [f"w:{a}:{row.id}" for a in ("again", "colder", "hotter", "more")]
    assert [b["text"] for b in reply.buttons] == [
        "🔁 Again",
        "❄️ Colder",
        "🔥 Hotter",
        "➕ Continue",
    ]


async def test_buttons_are_in_arabic_for_an_arabic_user(harness: Harness) -> None:
    me = harness.api.user(1402, "سارة", language_code="ar")
    reply = await written(harness, me, f"/write {SEED}")
    assert [b["text"] for b in reply.buttons] == ["🔁 مرة أخرى", "❄️ أبرد", "🔥 أسخن", "➕ تابع"]


async def test_again_writes_a_new_stored_sample_of_the_same_seed_as_a_new_message(
    harness: Harness,
) -> None:
    me = harness.api.user(1403, "Ann")
    first = await written(harness, me, f"/write {SEED}")
    text_before = first.text
    answer, _ = await press(harness, me, first, "again")
    assert answer["text"] is None  # no alert: the answer is the new message
    [again] = await harness.api.wait_for_messages(me.chat_id, 1, since=1)
    assert (again.raw_text or "").startswith(SEED)
    assert again.message_id != first.message_id
    assert first.text == text_before and not first.edits  # the pressed one is untouched
    parent, child = await settled_rows(harness, 2)
    assert (child.source, child.parent_id, child.seed) == ("button", parent.id, parent.seed)
    assert child.temperature == parent.temperature and child.delivered
    assert again.callback_data[0] == f"w:again:{child.id}"  # a new text has its own buttons


async def test_colder_and_hotter_change_this_text_only_not_the_preference(
    harness: Harness,
) -> None:
    me = harness.api.user(1404, "Ann")
    await harness.ask(me, "/temp 1")
    first = await written(harness, me, f"/write {SEED}")
    await press(harness, me, first, "colder")
    await harness.api.wait_for_messages(me.chat_id, 3)
    await press(harness, me, first, "hotter")
    await harness.api.wait_for_messages(me.chat_id, 4)
    parent, colder, hotter = await rows(harness)
    assert (parent.temperature, colder.temperature, hotter.temperature) == (1.0, 0.7, 1.3)
    stored = await user_row(harness, me.id)
    assert stored is not None and stored.temperature == 1.0
    [shown] = await harness.ask(me, "/temp")
    assert "1.0" in (shown.text or "")


async def test_colder_at_the_lowest_temperature_says_so_and_writes_nothing(
    harness: Harness,
) -> None:
    me = harness.api.user(1405, "Ann")
    await harness.ask(me, "/temp 0.1")
    first = await written(harness, me, f"/write {SEED}")
    answer, new = await press(harness, me, first, "colder")
    assert answer["show_alert"] and "0.1" in str(answer["text"])
    assert new == [] and len(await rows(harness)) == 1


async def test_continue_goes_on_from_the_end_of_the_text(harness: Harness) -> None:
    me = harness.api.user(1406, "Ann")
    first = await written(harness, me, f"/write {SEED}")
    await press(harness, me, first, "more")
    [more] = await harness.api.wait_for_messages(me.chat_id, 1, since=1)
    parent, child = await rows(harness)
    limit = harness.settings.max_seed_chars
    assert child.seed == parent.output[-limit:]
    assert (child.source, child.parent_id) == ("button", parent.id)
    # Only the new part is shown, after an ellipsis: the beginning is on screen already.
    assert more.raw_text == "…" + child.output[len(child.seed) :]


async def test_a_press_by_someone_else_in_a_group_is_refused(harness: Harness) -> None:
    ann, bob = harness.api.user(1407, "Ann"), harness.api.user(1408, "Bob")
    group = harness.api.group(-1001407, [ann, bob])
    since = harness.api.mark(group)
    await harness.api.send_text(ann, f"/write {SEED}", chat=group)
    [reply] = await harness.api.wait_for_messages(group, 1, since=since)
    answer, new = await press(harness, bob, reply, "again", chat=group)
    assert answer["show_alert"] and "Only the person" in str(answer["text"])
    assert new == [] and len(await rows(harness)) == 1
    answer, _ = await press(harness, ann, reply, "again", chat=group)
    assert answer["text"] is None
    await harness.api.wait_for_messages(group, 1, since=since + 1)
    assert len(await rows(harness)) == 2


async def test_forged_button_data_naming_another_users_text_is_refused(
    harness: Harness,
) -> None:
    ann, eve = harness.api.user(1409, "Ann"), harness.api.user(1410, "Eve")
    await written(harness, ann, f"/write {SEED}")
    own = await written(harness, eve, f"/write {SEED}")
    anns, _ = await rows(harness)
    for forged in (f"w:again:{anns.id}", "w:more:99999", "w:again:99999999999"):
        since = harness.api.mark(eve.chat_id)
        query = await harness.api.press_forged_button(eve, own, forged)
        answer = await harness.api.wait_for_callback_answer(query)
        assert answer["show_alert"], forged
        assert harness.api.messages_to(eve.chat_id)[since:] == []
    assert len(await rows(harness)) == 2


async def test_buttons_work_after_a_restart_and_expire_after_forget(harness: Harness) -> None:
    me = harness.api.user(1411, "Ann")
    first = await written(harness, me, f"/write {SEED}")
    await harness.restart()
    answer, _ = await press(harness, me, first, "again")
    assert answer["text"] is None
    await harness.api.wait_for_messages(me.chat_id, 1, since=1)
    assert len(await rows(harness)) == 2
    question = await written(harness, me, "/forget")
    await harness.api.press_button(me, question, f"forget:yes:{me.id}")
    await harness.api.wait_for_edit(question, lambda m: bool(m.edits))
    answer, new = await press(harness, me, first, "hotter")
    assert answer["show_alert"] and "expired" in str(answer["text"])
    assert new == [] and await rows(harness) == []


async def test_presses_count_against_the_per_user_rate_and_are_refused_once(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, user_rate_per_minute=1) as h:
        me = h.api.user(1412, "Ann")
        first = await written(h, me, f"/write {SEED}")
        answer, new = await press(h, me, first, "again")
        assert answer["show_alert"] and "at most 1 a minute" in str(answer["text"])
        answer, more = await press(h, me, first, "again")
        assert answer["text"] is None and not answer["show_alert"]  # told once per burst
        assert new == more == [] and len(await rows(h)) == 1


# ------------------------------------------------------------ item 4: /write as a reply


async def test_write_as_a_reply_continues_the_replied_message(harness: Harness) -> None:
    ann, bob = harness.api.user(1413, "Ann"), harness.api.user(1414, "Bob")
    group = harness.api.group(-1001413, [ann, bob])
    quoted = await harness.api.send_text(bob, "البحر هادئ اليوم", chat=group)
    since = harness.api.mark(group)
    await harness.api.send_text(ann, "/write", reply_to=quoted["message"]["message_id"], chat=group)
    [reply] = await harness.api.wait_for_messages(group, 1, since=since)
    assert (reply.raw_text or "").startswith("البحر هادئ اليوم")
    [row] = await rows(harness)
    assert (row.user_id, row.seed) == (ann.id, "البحر هادئ اليوم")


async def test_write_with_its_own_seed_ignores_the_replied_message(harness: Harness) -> None:
    me = harness.api.user(1415, "Ann")
    earlier = await written(harness, me, "/help")
    await harness.api.send_text(me, f"/write {SEED}", reply_to=earlier)
    [reply] = await harness.api.wait_for_messages(me.chat_id, 1, since=1)
    assert (reply.raw_text or "").startswith(SEED)


async def test_write_as_a_reply_to_a_message_without_text_explains(harness: Harness) -> None:
    me = harness.api.user(1416, "Ann")
    sent = await harness.api.send_document(me, "a.bin", b"\x00\x01")
    since = harness.api.mark(me.chat_id)
    await harness.api.send_text(me, "/write", reply_to=sent["message"]["message_id"])
    [reply] = await harness.api.wait_for_messages(me.chat_id, 1, since=since)
    assert "replied to has no text" in (reply.text or "")
    assert await rows(harness) == []


# ------------------------------------------------------------------- item 3: /length


async def test_length_sets_how_long_texts_are_and_is_shown_everywhere(harness: Harness) -> None:
    me = harness.api.user(1417, "Ann")
    [shown] = await harness.ask(me, "/length")
    assert "300 characters long" in (shown.text or "") and "1 to 4,000" in (shown.text or "")
    assert await user_row(harness, me.id) is None  # showing creates nothing
    [done] = await harness.ask(me, "/length ٤٠")  # Arabic-Indic digits, like /temp
    assert done.text == "Length set to 40 characters."
    [reply] = await harness.ask(me, f"/write {SEED}")
    assert len(reply.raw_text or "") == len(SEED) + 40
    [row] = await rows(harness)
    assert row.length == 40
    for command, expected in (
        ("/start", "currently 40 characters"),
        ("/help", "Yours: 40"),
        ("/temp", "40 characters long"),
    ):
        [answer] = await harness.ask(me, command)
        assert expected in (answer.text or ""), command
    await press(harness, me, reply, "again")
    [again] = await harness.api.wait_for_messages(me.chat_id, 1, since=6)
    assert len(again.raw_text or "") == len(SEED) + 40


@pytest.mark.parametrize("value", ["0", "4001", "-5", "2.5", "abc", "nan", "1e3", "٤٠٠١"])
async def test_length_refuses_bad_values_and_changes_nothing(harness: Harness, value: str) -> None:
    me = harness.api.user(1418, "Ann")
    [answer] = await harness.ask(me, f"/length {value}")
    assert "1 to 4,000" in (answer.text or "")
    row = await user_row(harness, me.id)
    assert row is None or row.length is None


async def test_length_in_arabic_for_an_arabic_user(harness: Harness) -> None:
    me = harness.api.user(1419, "سارة", language_code="ar")
    [done] = await harness.ask(me, "/length 120")
    assert "120" in (done.text or "") and "حرفا" in (done.text or "")
    [help_text] = await harness.ask(me, "/help")
    shown = help_text.text or ""
    assert "/length" in shown and "قيمتك: \u2068120\u2069" in shown


# ----------------------------------------------------------------- item 2: inline mode


async def inline(h: Harness, user: FakeUser, text: str) -> tuple[str, InlineAnswer]:
    query_id = await h.api.send_inline_query(user, text)
    return query_id, await h.api.wait_for_inline_answer(query_id)


async def test_an_inline_query_offers_three_stored_continuations(harness: Harness) -> None:
    me = harness.api.user(1420, "Ann")
    _, answer = await inline(harness, me, SEED)
    assert [r["title"] for r in answer.results] == [
        "Temperature 0.8", "Temperature 1.0", "Temperature 1.2",
    ]  # fmt: skip
    assert answer.is_personal and answer.cache_time is not None and answer.cache_time <= 10
    by_id = {str(r.id): r for r in await rows(harness)}  # stored concurrently, any order
    stored = [by_id[r["id"]] for r in answer.results]
    assert len(by_id) == 3
    for result, row in zip(answer.results, stored, strict=True):
        text = result["input_message_content"]["message_text"]
        assert text == row.output and text.startswith(SEED)
        assert (row.source, row.seed, row.delivered, row.chat_id) == ("inline", SEED, False, 0)
        assert row.length == harness.settings.default_length
    assert [r.temperature for r in stored] == [0.8, 1.0, 1.2]


async def test_choosing_an_inline_result_posts_it_and_marks_it_delivered(
    harness: Harness,
) -> None:
    ann, bob = harness.api.user(1421, "Ann"), harness.api.user(1422, "Bob")
    group = harness.api.group(-1001421, [ann, bob])
    query_id, answer = await inline(harness, ann, SEED)
    chosen = answer.results[1]
    posted = await harness.api.choose_inline_result(ann, query_id, chosen["id"], chat=group)
    assert posted["text"] == chosen["input_message_content"]["message_text"]
    assert posted["via_bot"]["username"] == harness.api.bot_user["username"]
    delivered: dict[str, bool] = {}
    for _ in range(300):
        delivered = {str(r.id): r.delivered for r in await rows(harness)}
        if any(delivered.values()):
            break
        await asyncio.sleep(0.05)
    assert delivered == {r["id"]: r is chosen for r in answer.results}
    assert harness.api.messages_to(group) == []  # the bot itself posts nothing there
    [history] = await harness.ask(ann, "/history")
    assert (history.text or "").count("offered inline, not chosen") == 2


async def test_a_chosen_result_reported_for_someone_else_changes_nothing(
    harness: Harness,
) -> None:
    ann, eve = harness.api.user(1423, "Ann"), harness.api.user(1424, "Eve")
    _, answer = await inline(harness, ann, SEED)
    await harness.api.enqueue_update(
        {"chosen_inline_result": {"result_id": answer.results[0]["id"], "from": eve.to_dict(),
                                  "query": SEED}}
    )  # fmt: skip
    await harness.ask(eve, "/help")  # handled after the forged report
    assert [r.delivered for r in await rows(harness)] == [False, False, False]


async def test_inline_queries_typed_in_a_row_are_answered_once(harness: Harness) -> None:
    me = harness.api.user(1425, "Ann")
    ids = [await harness.api.send_inline_query(me, SEED[:n]) for n in (3, 6, len(SEED))]
    last = await harness.api.wait_for_inline_answer(ids[-1])
    assert len(last.results) == 3
    assert [harness.api.inline_answers[i] for i in ids[:-1]] == [None, None]
    assert {r.seed for r in await rows(harness)} == {SEED}


async def test_an_empty_inline_query_explains_and_writes_nothing(harness: Harness) -> None:
    me = harness.api.user(1426, "Ann")
    _, answer = await inline(harness, me, "")
    assert answer.results == []
    assert answer.button is not None and answer.button["text"] == "Type the beginning of a text"
    assert await rows(harness) == []


async def test_inline_seed_of_unknown_characters_is_one_explanation(harness: Harness) -> None:
    me = harness.api.user(1427, "Ann")
    _, answer = await inline(harness, me, "zzz qqq")
    [article] = answer.results
    assert "don't know any of the characters" in article["input_message_content"]["message_text"]
    assert await rows(harness) == []
    _, answer = await inline(harness, me, "في zzz الصباح")
    assert len(answer.results) == 3
    assert all("left out characters I don't know: z" in r["description"] for r in answer.results)


async def test_inline_queries_go_through_the_per_user_limits(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, user_rate_per_minute=1) as h:
        me = h.api.user(1428, "Ann")
        _, first = await inline(h, me, SEED)
        assert len(first.results) == 3
        _, refused = await inline(h, me, SEED + " ")
        [article] = refused.results
        assert "at most 1 a minute" in article["input_message_content"]["message_text"]
        _, silent = await inline(h, me, SEED + "  ")
        assert silent.results == []  # told once per burst
        assert len(await rows(h)) == 3


async def test_inline_results_are_in_arabic_for_an_arabic_user(harness: Harness) -> None:
    me = harness.api.user(1429, "سارة", language_code="ar")
    _, answer = await inline(harness, me, SEED)
    assert answer.results[0]["title"] == "درجة الحرارة \u20680.8\u2069"  # isolated value


async def test_a_result_posted_in_the_private_chat_gets_no_hint(harness: Harness) -> None:
    me = harness.api.user(1430, "Ann")
    query_id, answer = await inline(harness, me, SEED)
    since = harness.api.mark(me.chat_id)
    await harness.api.choose_inline_result(me, query_id, answer.results[0]["id"], chat=me.id)
    [reply] = await harness.ask(me, "/length")  # handled after the posted result
    assert harness.api.messages_to(me.chat_id)[since:] == [reply]


async def test_a_refused_inline_answer_is_logged_not_shown_and_the_next_query_works(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    me = harness.api.user(1433, "Ann")
    harness.api.inject_error("answerInlineQuery", "Bad Request: " + QUERY_TOO_OLD)
    query_id = await harness.api.send_inline_query(me, SEED)
    await harness.api.wait_for(lambda: harness.api.injected_left("answerInlineQuery") == 0)
    _, answer = await inline(harness, me, SEED + " ")
    assert len(answer.results) == 3
    assert harness.api.inline_answers[query_id] is None
    assert not [r for r in caplog.records if r.exc_info]  # no traceback, to anyone
    assert harness.api.messages_to(me.chat_id) == []


async def test_export_and_generations_show_where_each_text_came_from(harness: Harness) -> None:
    me, admin = harness.api.user(1432, "Ann"), harness.api.user(ADMIN_ID, "Admin")
    first = await written(harness, me, f"/write {SEED}")
    await press(harness, me, first, "again")
    await harness.api.wait_for_messages(me.chat_id, 1, since=1)
    await inline(harness, me, SEED)
    [doc] = await harness.ask(admin, "/export")
    assert doc.document is not None
    exported = list(csv.DictReader(io.StringIO(doc.document.decode("utf-8-sig"))))
    parent = exported[0]["id"]
    assert [(r["source"], r["parent_id"]) for r in exported] == [
        ("command", ""), ("button", parent), ("inline", ""), ("inline", ""), ("inline", ""),
    ]  # fmt: skip
    [page] = await harness.ask(admin, "/generations")
    assert (page.text or "").count(" · inline") == 3 and " · button" in (page.text or "")


# ------------------------------------------------------------------------ PostgreSQL


@needs_postgres
async def test_buttons_length_and_inline_on_postgresql(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with (
        fresh_postgres_database("test_i14") as url,
        running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, database_url=url) as h,
    ):
        me = h.api.user(1431, "Ann")
        await h.ask(me, "/length 30")
        first = await written(h, me, f"/write {SEED}")
        await press(h, me, first, "more")
        [more] = await h.api.wait_for_messages(me.chat_id, 1, since=2)
        assert (more.raw_text or "").startswith("…")
        # An id past PostgreSQL's INTEGER is "expired", never a database error.
        query = await h.api.press_forged_button(me, first, "w:again:2147483648")
        assert (await h.api.wait_for_callback_answer(query))["show_alert"]
        _, answer = await inline(h, me, SEED)
        assert len(answer.results) == 3
        stored = await rows(h)
        assert [r.source for r in stored] == ["command", "button"] + ["inline"] * 3
        assert all(r.length == 30 for r in stored)
