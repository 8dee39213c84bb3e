"""Issue 9 (surface hardening) end to end: odd numbers, hostile text, delivery faults,
group chats, forged buttons; the real bot over HTTP against the loopback Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.parsing import NotAnId, parse_id
from bot.storage.schema import GenerationRow
from tests.botapi import FakeUser
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, Harness, running_bot


@pytest.fixture
async def harness(tmp_path: Path, tiny_checkpoint_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT) as h:
        yield h


@pytest.fixture
def admin(harness: Harness) -> FakeUser:
    return harness.api.user(ADMIN_ID, "Admin")


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
