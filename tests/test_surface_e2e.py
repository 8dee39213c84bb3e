"""Surface hardening end to end: odd numbers, hostile text, delivery faults,
group chats, forged buttons; the real bot over HTTP against the loopback Bot API server."""

from __future__ import annotations

import asyncio
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.storage.schema import GenerationRow
from bot.telegram.parsing import NotAnId, parse_id
from tests.botapi import FakeUser
from tests.conftest import TINY_TEXT
from tests.harness import Harness, running_bot
from tests.postgres import fresh_postgres_database, needs_postgres


async def count_generations(h: Harness) -> int:
    async with h.services.storage.session_maker() as session:
        return int(await session.scalar(select(func.count()).select_from(GenerationRow)) or 0)


# ----------------------------------------------------------------- item 13: ids


@pytest.mark.parametrize(
    "text,expected",
    [("7", 7), ("#7", 7), ("١٢", 12), ("１２", 12), ("𝟑", 3), (str(2**63 - 1), 2**63 - 1)],
)
def test_parse_id_accepts_decimal_digits_of_any_script(text: str, expected: int) -> None:
    assert parse_id(text) == expected


@pytest.mark.parametrize("text", ["", "0", "-1", "²", "³", "1e3", "9223372036854775808", "x"])
def test_parse_id_refuses_the_rest(text: str) -> None:
    with pytest.raises(NotAnId):
        parse_id(text)


@pytest.mark.parametrize(
    "command,usage",
    [
        ("/use 99999999999999999999", "Usage: /use"),
        ("/use ²", "Usage: /use"),
        ("/use 9223372036854775808", "Usage: /use"),
        ("/generations user ³", "Filters:"),
        ("/generations user 99999999999999999999", "Filters:"),
        ("/export model 9223372036854775808", "Filters:"),
        ("/export user ²", "Filters:"),
    ],
)
async def test_odd_numbers_get_the_usage_message(
    harness: Harness, admin: FakeUser, command: str, usage: str
) -> None:
    [reply] = await harness.ask(admin, command)
    assert usage in (reply.text or "")
    assert "went wrong" not in (reply.text or "")


async def test_ids_in_other_scripts_work(harness: Harness, admin: FakeUser) -> None:
    [reply] = await harness.ask(admin, "/use ١")
    assert "Version 1 is now active" in (reply.text or "")
    [page] = await harness.ask(admin, "/generations model ١")
    assert "No generations match" in (page.text or "")


# ------------------------------------------------- items 11, 12, 18: hostile text


def visible(text: str) -> bool:
    """No control, format or separator character other than a newline."""
    return all(ch == "\n" or unicodedata.category(ch) not in HIDDEN for ch in text)


HIDDEN = {"Cc", "Cf", "Zl", "Zp"}


async def test_control_characters_are_never_echoed_back(harness: Harness, admin: FakeUser) -> None:
    user = harness.api.user(9101)
    seed = "البحر\u202eهادئ\u200f\x07 السماء\x9b"
    text, note = await harness.ask(user, f"/write {seed}", count=2)
    assert visible(text.raw_text or "") and visible(note.raw_text or "")
    assert "\\u0007" in (note.raw_text or "") and "\\u009b" in (note.raw_text or "")
    [history] = await harness.ask(user, "/history")
    assert visible(history.raw_text or "")
    assert "\\u202e" in (history.raw_text or "") and "\\u200f" in (history.raw_text or "")
    [review] = await harness.ask(admin, "/generations")
    assert visible(review.raw_text or "") and "\\u202e" in (review.raw_text or "")


async def test_a_name_with_controls_is_greeted_printably(harness: Harness) -> None:
    user = harness.api.user(9105, "Ann\u202eevil\u0000")
    [hello] = await harness.ask(user, "/start")
    assert visible(hello.raw_text or "") and "Ann\\u202eevil\\u0000" in (hello.raw_text or "")


async def test_history_keeps_its_numbered_layout_with_multi_line_seeds(harness: Harness) -> None:
    user = harness.api.user(9102)
    await harness.ask(user, "/write البحر\nهادئ\nاليوم")
    await harness.ask(user, "/write المدينة")
    # The reply reaches the user before the bot records Telegram's confirmation.
    for _ in range(1000):
        rows = await harness.services.storage.user_history(user.id)
        if all(row.delivered for row in rows):
            break
        await asyncio.sleep(0.01)
    [history] = await harness.ask(user, "/history")
    lines = (history.raw_text or "").split("\n")
    # A header, then two lines per entry: "1. date · temperature" and the indented seed.
    assert len(lines) == 5
    assert lines[1].startswith("1. ") and lines[3].startswith("2. ")
    assert lines[4].strip() == "البحر⏎هادئ⏎اليوم"


async def nul_seed_round_trip(h: Harness) -> None:
    user = h.api.user(9103)
    text, note = await h.ask(user, "/write البحر\x00 هادئ", count=2)
    assert (text.raw_text or "").startswith("البحر هادئ")
    assert "\\u0000" in (note.raw_text or "")
    async with h.services.storage.session_maker() as session:
        row = (await session.scalars(select(GenerationRow))).one()
    # What is stored: NUL replaced by U+FFFD, the same on SQLite and PostgreSQL.
    assert row.seed == "البحر\ufffd هادئ" and row.dropped_chars == "\ufffd"
    assert row.delivered
    [history] = await h.ask(user, "/history")
    assert "البحر\ufffd هادئ" in (history.raw_text or "")


async def test_a_nul_in_the_seed_is_stored_as_a_replacement_character(harness: Harness) -> None:
    await nul_seed_round_trip(harness)


@needs_postgres
async def test_a_nul_in_the_seed_is_stored_on_postgresql_too(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with (
        fresh_postgres_database("test_nul") as url,
        running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, database_url=url) as h,
    ):
        await nul_seed_round_trip(h)


async def test_a_seed_starting_with_dropped_characters_gives_no_leading_space(
    harness: Harness,
) -> None:
    user = harness.api.user(9104)
    text, note = await harness.ask(user, "/write Z البحر", count=2)
    assert (text.raw_text or "").startswith("البحر")
    assert "Z" in (note.text or "")
