"""The real bot end to end on PostgreSQL: the loopback Bot API server, real HTTP, a fresh
database created for the test (and dropped after), migrated by the bot at start-up.

Skipped unless ``TEST_POSTGRES_URL`` is set (.ci/run starts a server and sets it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.ops import cli as ops
from bot.storage.schema import GenerationRow, ModelVersionRow, UserRow
from tests.conftest import TINY_TEXT
from tests.harness import Harness, running_bot
from tests.postgres import fresh_postgres_database, needs_postgres

pytestmark = needs_postgres


async def count_rows(h: Harness, model: type) -> int:
    async with h.services.storage.session_maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_bot_serves_users_from_postgresql_across_a_restart(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with (
        fresh_postgres_database("test_e2e") as url,
        running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, database_url=url) as h,
    ):
        assert h.services.storage.session_maker.kw["bind"].dialect.name == "postgresql"
        ann, bob = h.api.user(3001, "Ann", language_code="en"), h.api.user(3002, "Bob")

        [hello] = await h.ask(ann, "/start")
        assert "Hello Ann" in (hello.text or "")
        [reply] = await h.ask(ann, "/temp 0,5")
        assert "set to 0.5" in (reply.text or "")
        [text] = await h.ask(ann, "/write في الصباح")
        assert (text.text or "").startswith("في الصباح")
        async with h.services.storage.session_maker() as session:
            row = (await session.scalars(select(GenerationRow))).one()
        assert row.user_id == 3001 and row.temperature == pytest.approx(0.5)
        # Compared without edge whitespace: how a reply's trailing spaces are sent is the
        # handlers' business (tests/test_bot_e2e.py); here it is what PostgreSQL stored.
        assert row.output.strip() == (text.text or "").strip()
        assert row.model_version_id is not None

        # Concurrent users: upserts and inserts from many handlers at once.
        users = [h.api.user(3100 + i) for i in range(20)]
        await asyncio.gather(*(h.api.send_text(u, "/write البحر") for u in users))
        await asyncio.gather(*(h.api.wait_for_messages(u.chat_id, 1, timeout=60) for u in users))
        assert await count_rows(h, GenerationRow) == 21

        await h.ask(bob, "/write المدينة")
        [question] = await h.ask(bob, "/forget")
        await h.api.press_button(bob, question, "forget:yes:3002")
        await h.api.wait_for_edit(question, lambda m: "Done" in (m.text or ""))
        assert await h.services.storage.get_user(3002) is None

        await h.restart()
        [reply] = await h.ask(ann, "/temp")
        assert "is 0.5" in (reply.text or "")
        [history] = await h.ask(ann, "/history")
        assert "في الصباح" in (history.text or "")
        assert await count_rows(h, ModelVersionRow) == 1  # the restart reused it
        assert await count_rows(h, UserRow) == 21  # Ann and the 20; Bob forgotten

        # What Docker's healthcheck sees.
        assert await asyncio.to_thread(ops.healthcheck, url) == 0
