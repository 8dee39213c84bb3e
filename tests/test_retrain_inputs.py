"""What an admin uploads for /retrain: encodings, control characters, sizes, duplicates,
uploads while a training runs, an unwritable corpus folder, and a new model whose
alphabet the active model's users would lose."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage import Storage
from bot.storage.schema import CorpusRow, TrainingRunRow
from bot.training.corpora import validate_text, wide_encoding
from model.errors import CorpusError
from tests.botapi import FakeUser
from tests.conftest import TINY_TEXT
from tests.faults import assert_consistent, remount, tmpfs
from tests.harness import ADMIN_ID, FAST_TRAINING, Harness, running_bot
from tests.test_admin_e2e import NEW_TEXT, count, eventually, upload

ENGLISH = (
    "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun.\n"
    "A small boat sails across the bay and the children wave from the harbour wall.\n"
) * 5


def check(data: bytes) -> str:
    return validate_text(data, 1_000_000, 32, 0.1)


@pytest.mark.parametrize(
    "data,expected",
    [
        (NEW_TEXT.encode("utf-16-le"), "looks like UTF-16"),  # Arabic: high byte 0x06
        (ENGLISH.encode("utf-16-le"), "looks like UTF-16"),  # Latin: high byte 0x00
        (ENGLISH.encode("utf-16-be"), "looks like UTF-16"),
        (ENGLISH.encode("utf-16"), "looks like UTF-16"),  # with a BOM
        (ENGLISH.encode("utf-32-le"), "looks like UTF-32"),
        (ENGLISH.encode("utf-32"), "looks like UTF-32"),
        ((ENGLISH[:200] + "\x01\x02" + ENGLISH[200:]).encode(), "control character U+0001"),
        ((ENGLISH + "\x85").encode(), "control character U+0085"),  # C1 (NEL)
        (("1234567890;" * 100 + "\n").encode(), "letters, spaces and punctuation"),
    ],
)
def test_wrongly_encoded_binary_and_non_text_uploads_are_refused(
    data: bytes, expected: str
) -> None:
    with pytest.raises(CorpusError, match=re.escape(expected)):
        check(data)


def test_plain_text_with_tabs_newlines_and_some_digits_is_accepted() -> None:
    text = "\t" + NEW_TEXT + "\r\n" + ENGLISH + "في عام 2024 كتب 3 كتب.\n"
    assert check(text.encode()).startswith("\t")
    assert check(b"\xef\xbb\xbf" + NEW_TEXT.encode())  # a UTF-8 BOM is fine
    assert wide_encoding(NEW_TEXT.encode()) is None and wide_encoding(ENGLISH.encode()) is None


async def test_a_utf16_upload_is_refused_through_the_bot(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **FAST_TRAINING) as h:
        reply = await upload(h, h.api.user(ADMIN_ID), NEW_TEXT.encode("utf-16-le"))
        assert "looks like UTF-16 text: save it as UTF-8" in (reply.text or ""), reply.text
        assert await count(h, CorpusRow) == 1 and await count(h, TrainingRunRow) == 0


async def test_a_model_that_loses_most_of_the_alphabet_waits_for_the_admin(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **FAST_TRAINING) as h:
        await h.ask(h.api.user(7001), "/write في الصباح")
        await h.ask(h.api.user(7002), "/write البحر")
        admin = h.api.user(ADMIN_ID)
        await upload(h, admin, ENGLISH.encode())
        offer = await h.api.wait_for(
            lambda: next((m for m in h.api.messages_to(ADMIN_ID) if m.callback_data), None), 120
        )
        text = offer.text or ""
        assert "Version 2 was stored but NOT activated" in text, text
        assert "2 users' seeds" in text and "7001" in text and "7002" in text, text
        assert offer.callback_data == ["mv:use:2", "mv:discard:2"]
        assert h.services.engine.version == 1
        assert (await h.services.storage.active_model_version()).id == 1
        since = h.api.mark(ADMIN_ID)
        await h.api.press_button(admin, offer, "mv:use:2")
        [done] = await h.api.wait_for_messages(ADMIN_ID, 1, since=since)
        assert "Version 2 is now active" in (done.text or "")
        assert h.services.engine.version == 2


async def test_concurrent_add_corpus_of_one_text_makes_one_row(tmp_path: Path) -> None:
    storage = await Storage.open(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        rows = await asyncio.gather(
            *(
                storage.add_corpus(
                    path="x.txt", sha256="e" * 64, chars=1, size_bytes=1, source="upload"
                )
                for _ in range(8)
            )
        )
        assert len({r.id for r in rows}) == 1
    finally:
        await storage.close()


async def upload_at_once(h: Harness, admin: FakeUser, documents: list[tuple[str, bytes]]) -> int:
    """Sends every (file name, content) with the caption /retrain at once and waits for
    as many replies; returns the chat's message count before them (``api.mark``)."""
    since = h.api.mark(admin.chat_id)
    await asyncio.gather(
        *(h.api.send_document(admin, name, data, caption="/retrain") for name, data in documents)
    )
    await h.api.wait_for_messages(admin.chat_id, len(documents), 120, since=since)
    return since


async def test_the_same_document_twice_at_once_is_one_corpus(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    overrides = {**FAST_TRAINING, "retrain_steps": 1_000_000}
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **overrides) as h:
        admin = h.api.user(ADMIN_ID)
        await upload_at_once(h, admin, [("c.txt", NEW_TEXT.encode())] * 2)
        assert await count(h, CorpusRow) == 2  # the default corpus and this one
        await h.ask(admin, "/retrain cancel")
        await eventually(lambda: not h.services.retrain.running, 60)


async def test_uploads_while_a_training_runs_are_not_stored(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    overrides = {**FAST_TRAINING, "retrain_steps": 1_000_000}
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **overrides) as h:
        admin = h.api.user(ADMIN_ID)
        since = await upload_at_once(
            h, admin, [(f"c{i}.txt", (NEW_TEXT + f"نسخة {i}\n").encode()) for i in range(10)]
        )

        def refused() -> int:
            texts = [m.text or "" for m in h.api.messages_to(ADMIN_ID)[since:]]
            return sum("already running" in t for t in texts)

        await eventually(lambda: refused() == 9, 120)
        await eventually(lambda: h.services.retrain.running, 60)
        # Later uploads are refused before anything is downloaded or stored.
        late = await upload(h, admin, (NEW_TEXT + "متأخر\n").encode())
        assert "already running" in (late.text or ""), late.text
        assert await count(h, CorpusRow) == 2
        assert len(list((tmp_path / "corpora").glob("*.txt"))) == 1
        await h.ask(admin, "/retrain cancel")
        await eventually(lambda: not h.services.retrain.running, 60)
        assert_consistent(tmp_path / "bot.db")


async def test_a_document_without_file_size_is_limited_while_downloading(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, max_corpus_bytes=10_000, **FAST_TRAINING
    ) as h:
        admin = h.api.user(ADMIN_ID)
        since = h.api.mark(ADMIN_ID)
        big = ("طويل جدا " * 2000).encode()
        await h.api.send_document(admin, "big.txt", big, caption="/retrain", with_file_size=False)
        [reply] = await h.api.wait_for_messages(ADMIN_ID, 1, since=since)
        assert "over the limit of 10,000 bytes" in (reply.text or ""), reply.text
        h.api.inject_error("getFile", "Bad Request: file is too big", 400)
        refused = await upload(h, admin, NEW_TEXT.encode())
        assert "Telegram does not let bots download files over 20 MB" in (refused.text or "")
        assert await count(h, CorpusRow) == 1 and await count(h, TrainingRunRow) == 0


async def test_an_unwritable_corpus_folder_is_named_in_the_reply(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    corpora = tmp_path / "corpora"
    with tmpfs(corpora, "8m"):
        async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **FAST_TRAINING) as h:
            # Read-only from the start would stop the bot at start-up (its own check):
            # this is the folder turning read-only while the bot runs.
            remount(corpora, "ro")
            reply = await upload(h, h.api.user(ADMIN_ID), NEW_TEXT.encode())
            text = reply.text or ""
            assert "I could not store the text" in text and str(corpora) in text, text
            assert "read-only" in text and "Nothing was changed" in text, text
            async with h.services.storage.session_maker() as session:
                assert len((await session.scalars(select(CorpusRow))).all()) == 1
