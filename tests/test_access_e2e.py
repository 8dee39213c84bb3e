"""Access control through the Bot API: /allow, /block, /unblock, /users, ACCESS=allowlist."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.storage.schema import GenerationRow, UserRow
from tests.botapi import FakeUser
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, Harness, running_bot

SETTLE_S = 1.0


async def rows(h: Harness, model: type, user_id: int) -> int:
    column = GenerationRow.user_id if model is GenerationRow else UserRow.id
    async with h.services.storage.session_maker() as session:
        query = select(func.count()).select_from(model).where(column == user_id)
        return int(await session.scalar(query) or 0)


async def admin_says(h: Harness, text: str) -> str:
    [reply] = await h.ask(h.api.user(ADMIN_ID), text)
    return reply.text or ""


async def silence_after(h: Harness, user: FakeUser, texts: list[str]) -> list[str]:
    """Send ``texts`` as ``user``; everything the bot answered after settling."""
    mark = h.api.mark(user.chat_id)
    for text in texts:
        await h.api.send_text(user, text)
    await asyncio.sleep(SETTLE_S)
    return [m.text or "" for m in h.api.messages_to(user.chat_id)[mark:]]


async def test_a_blocked_user_gets_one_polite_reply_then_silence_and_nothing_is_stored(
    harness: Harness,
) -> None:
    h = harness
    assert "is blocked (spam)" in await admin_says(h, "/block 3001 spam")
    user = h.api.user(3001, language_code="ar")
    completed = h.services.engine.completed
    mark = h.api.mark(user.chat_id)
    await h.api.send_text(user, "/write في الصباح")
    [notice] = await h.api.wait_for_messages(user.chat_id, 1, since=mark)
    assert "لا يمكنك استخدام هذا البوت" in (notice.text or "")
    later = await silence_after(h, user, ["/write في الصباح", "/start", "/temp 1.5", "hello"])
    assert later == []
    assert h.services.engine.completed == completed
    assert await rows(h, GenerationRow, 3001) == 0 and await rows(h, UserRow, 3001) == 0


async def test_unblock_lets_the_user_write_again(harness: Harness) -> None:
    h = harness
    user = h.api.user(3002)
    [first] = await h.ask(user, "/write في الصباح")
    assert (first.raw_text or "").startswith("في")
    await admin_says(h, "/block 3002")
    [notice] = await h.ask(user, "/write في الصباح")
    assert "can't use this bot" in (notice.text or "")
    assert "3002 is unblocked" in await admin_says(h, "/unblock 3002")
    [again] = await h.ask(user, "/write في الصباح")
    assert (again.raw_text or "").startswith("في")
    assert "was not blocked" in await admin_says(h, "/unblock 3002")


@pytest.mark.parametrize(
    "command",
    ["/block", "/block ²", "/block 99999999999999999999", "/block -5", "/block abc", "/allow x"],
)
async def test_a_bad_id_gets_the_usage_and_changes_nothing(harness: Harness, command: str) -> None:
    assert "Usage:" in await admin_says(harness, command)
    assert harness.services.extra["access"].blocked == set()


async def test_arabic_indic_digits_are_an_id_and_admins_cannot_be_blocked(
    harness: Harness,
) -> None:
    assert "3003 is blocked" in await admin_says(harness, "/block ٣٠٠٣")
    assert "admins can't be blocked" in await admin_says(harness, f"/block {ADMIN_ID}")


@pytest.mark.parametrize(
    "command", ["/allow 1", "/block 1", "/unblock 1", "/users", "/users blocked"]
)
async def test_non_admins_are_refused_the_access_commands(harness: Harness, command: str) -> None:
    [reply] = await harness.ask(harness.api.user(3010), command)
    assert "not allowed" in (reply.text or "")
    assert harness.services.extra["access"].blocked == set()


async def test_allowlist_mode_lets_in_only_listed_users_and_admins(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, access="allowlist", allowed_user_ids="3020"
    ) as h:
        listed, stranger = h.api.user(3020), h.api.user(3021)
        [text] = await h.ask(listed, "/write في الصباح")
        assert (text.raw_text or "").startswith("في")
        [notice] = await h.ask(stranger, "/write في الصباح")
        assert "only invited users" in (notice.text or "")
        assert await silence_after(h, stranger, ["/start", "/write في"]) == []
        assert await rows(h, UserRow, 3021) == 0
        assert "3021 may use the bot now" in await admin_says(h, "/allow 3021")
        [text] = await h.ask(stranger, "/write في الصباح")
        assert (text.raw_text or "").startswith("في")
        [admin_text] = await h.ask(h.api.user(ADMIN_ID), "/write في الصباح")
        assert (admin_text.raw_text or "").startswith("في")


async def test_blocks_and_the_allow_list_survive_a_restart(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, access="allowlist") as h:
        await admin_says(h, "/allow 3030")
        await admin_says(h, "/block 3031 flood")
        await h.restart()
        [allowed] = await h.ask(h.api.user(3030), "/write في الصباح")
        assert (allowed.raw_text or "").startswith("في")
        [blocked] = await h.ask(h.api.user(3031), "/write في الصباح")
        assert "can't use this bot" in (blocked.text or "")
        await h.restart(access="open")
        [still] = await h.ask(h.api.user(3031), "/write في الصباح")
        assert "can't use this bot" in (still.text or "")
        listing = await admin_says(h, "/users blocked")
        assert "Blocked users 1–1 of 1" in listing and "3031" in listing and "flood" in listing


async def test_users_lists_counts_and_pages_with_buttons(harness: Harness) -> None:
    h = harness
    writer = h.api.user(3040, "Writer", username="writer")
    for _ in range(2):
        await h.ask(writer, "/write في الصباح")
    for i in range(11):
        await h.ask(h.api.user(3050 + i, f"U{i}"), "/start")
    admin = h.api.user(ADMIN_ID)
    [page] = await h.ask(admin, "/users")
    text = page.text or ""
    assert text.startswith("Users 1–10 of 12")
    assert page.callback_data == ["users:a:10"]
    await h.api.press_button(admin, page, "users:a:10")
    edited = await h.api.wait_for_edit(page, lambda m: "Users 11–12 of 12" in (m.text or ""))
    assert "3040 · Writer @writer · 2 generations" in (edited.text or "")
    assert edited.callback_data == ["users:a:0"]
    [none] = await h.ask(admin, "/users blocked")
    assert "No one is blocked" in (none.text or "")


async def test_users_shows_names_with_control_characters_printably(harness: Harness) -> None:
    h = harness
    await h.ask(h.api.user(3070, "Eve\u202eliam\u0000"), "/start")
    admin = h.api.user(ADMIN_ID)
    [page] = await h.ask(admin, "/users")
    text = page.text or ""
    assert "3070 · Eve\\u202eliam\\u0000 ·" in text, text
    assert "\u202e" not in text and "\u0000" not in text
