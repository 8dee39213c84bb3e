"""Admin commands end to end: retraining in a real subprocess, versions, review, export."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.storage.schema import CorpusRow, GenerationRow, TrainingRunRow
from bot.texts.worded import said
from tests.botapi import FakeUser, SentMessage
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, FAST_TRAINING, Harness, running_bot

NEW_TEXT = (
    "الشمس تشرق على الجبال العالية والريح تحمل رائحة المطر.\n"
    "في السوق يبيع الرجل التمر والخبز والحليب لأهل الحي.\n"
    "قرأت البنت كتابا عن النجوم وحلمت بالسفر إلى القمر.\n"
) * 6

HARNESS_SETTINGS = FAST_TRAINING


async def count(h: Harness, model: type) -> int:
    async with h.services.storage.session_maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def upload(
    h: Harness, user: FakeUser, content: bytes, caption: str = "/retrain"
) -> SentMessage:
    since = h.api.mark(user.chat_id)
    await h.api.send_document(user, "corpus.txt", content, caption=caption)
    [reply] = await h.api.wait_for_messages(user.chat_id, 1, since=since)
    return reply


async def eventually(condition: Any, timeout: float = 30.0) -> None:
    """Poll a condition on state the fake server does not see (the bot's own objects)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def wait_run_finished(h: Harness, timeout: float = 120.0) -> None:
    manager = h.services.retrain
    await eventually(lambda: manager.current is not None or manager.settings is None, 10)
    await eventually(lambda: not manager.running, timeout)


async def write_version(h: Harness, user: FakeUser) -> int | None:
    await h.ask(user, "/write في الصباح")
    async with h.services.storage.session_maker() as session:
        row = await session.scalar(select(GenerationRow).order_by(GenerationRow.id.desc()).limit(1))
    assert row is not None
    return row.model_version_id


@pytest.mark.parametrize(
    "command",
    ["/retrain", "/retrain cancel", "/models", "/use 1", "/generations", "/export", "/stats"],
)
async def test_non_admins_are_refused_every_admin_command(harness: Harness, command: str) -> None:
    user = harness.api.user(777, "Mallory", username="admin")  # the name proves nothing
    [reply] = await harness.ask(user, command)
    assert "not allowed" in (reply.text or "")
    assert await count(harness, TrainingRunRow) == 0


async def test_non_admin_document_upload_is_refused(harness: Harness) -> None:
    user = harness.api.user(778)
    reply = await upload(harness, user, NEW_TEXT.encode())
    assert "not allowed" in (reply.text or "")
    assert await count(harness, CorpusRow) == 1  # only the default corpus


async def test_retrain_on_a_document_swaps_in_the_new_version_without_downtime(
    harness: Harness, admin: FakeUser
) -> None:
    writer = harness.api.user(5001)
    status = await upload(harness, admin, NEW_TEXT.encode())
    assert "Training on corpus" in (status.text or "")
    await eventually(lambda: harness.services.retrain.running)
    # Serving continues during training, on the old version.
    assert await write_version(harness, writer) == 1
    await wait_run_finished(harness)
    photo = await harness.api.wait_for(
        lambda: next((m for m in harness.api.messages_to(ADMIN_ID) if m.kind == "photo"), None)
    )
    assert photo.document and photo.document.startswith(b"\x89PNG")
    assert any("█" in edit for edit in status.edits)  # progress bar edits
    assert "done" in (status.text or "")
    outcome = await harness.api.wait_for(
        lambda: next(
            (m for m in harness.api.messages_to(ADMIN_ID) if "Sample" in (m.text or "")), None
        )
    )
    assert "Version 2 is now active" in (outcome.text or "")
    assert outcome.reply_markup is None
    assert await write_version(harness, writer) == 2
    async with harness.services.storage.session_maker() as session:
        run = (await session.scalars(select(TrainingRunRow))).one()
    assert run.status == "succeeded" and run.model_version_id == 2 and run.started_by == ADMIN_ID


@pytest.mark.slow
async def test_retrain_on_a_replied_text_message(harness: Harness, admin: FakeUser) -> None:
    await harness.api.send_text(admin, NEW_TEXT)
    text_message = harness.api._user_messages[max(harness.api._user_messages)]
    since = harness.api.mark(ADMIN_ID)
    await harness.api.send_text(admin, "/retrain", reply_to=text_message["message_id"])
    [status] = await harness.api.wait_for_messages(ADMIN_ID, 1, since=since)
    assert "Training on corpus" in (status.text or "")
    await wait_run_finished(harness)


async def test_killed_training_is_recorded_as_failed_and_the_old_model_keeps_serving(
    harness: Harness, admin: FakeUser
) -> None:
    await upload(harness, admin, NEW_TEXT.encode(), caption="/retrain")
    manager = harness.services.retrain
    await eventually(lambda: manager.current is not None)
    run = manager.current
    await eventually(lambda: run.last is not None, 60)
    os.kill(run.process.pid, signal.SIGKILL)
    await wait_run_finished(harness)
    failure = await harness.api.wait_for(
        lambda: next(
            (m for m in harness.api.messages_to(ADMIN_ID) if "failed:" in (m.text or "")), None
        )
    )
    assert "killed by signal 9" in (failure.text or "")
    assert "Version 1 keeps serving" in (failure.text or "")
    async with harness.services.storage.session_maker() as session:
        row = (await session.scalars(select(TrainingRunRow))).one()
    assert row.status == "failed"
    assert said(None, row.error or "") == "the training process was killed by signal 9"
    assert await write_version(harness, harness.api.user(5002)) == 1


@pytest.mark.parametrize(
    "content,expected",
    [
        (b"\xff\xfe\x00\xd8 not utf8", "looks like UTF-16"),
        (b"caf\xe9 \xc3\x28 not utf8 at all", "not valid UTF-8"),
        (b"   \n", "empty"),
        ("قصير جدا".encode(), "too short"),
        (("طويل " * 3000).encode(), "the limit is"),
    ],
)
async def test_bad_uploads_are_refused_and_change_nothing(
    tmp_path: Path, tiny_checkpoint_path: Path, content: bytes, expected: str
) -> None:
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, max_corpus_bytes=10_000, **FAST_TRAINING
    ) as h:
        admin = h.api.user(ADMIN_ID)
        reply = await upload(h, admin, content)
        assert expected in (reply.text or "")
        assert "Nothing was changed" in (reply.text or "") or "limit" in (reply.text or "")
        assert await count(h, CorpusRow) == 1 and await count(h, TrainingRunRow) == 0
        assert not h.services.retrain.running


async def test_second_retrain_is_refused_while_one_runs_and_cancel_stops_it(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    overrides = {**FAST_TRAINING, "retrain_steps": 1_000_000}
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **overrides) as h:
        admin = h.api.user(ADMIN_ID)
        await upload(h, admin, NEW_TEXT.encode())
        await eventually(lambda: h.services.retrain.running)
        second = await upload(h, admin, (NEW_TEXT + "جديد\n").encode())
        assert "already running" in (second.text or "")
        [cancelled] = await h.ask(admin, "/retrain cancel")
        assert "cancelled" in (cancelled.text or "")
        assert not h.services.retrain.running
        async with h.services.storage.session_maker() as session:
            row = (await session.scalars(select(TrainingRunRow))).one()
        assert row.status == "cancelled"
        assert not list((tmp_path / "checkpoints").glob("run-*.pt"))
        [again] = await h.ask(admin, "/retrain cancel")
        assert "No training is running" in (again.text or "")


async def test_a_cancel_while_the_start_is_being_announced_cancels_that_run(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    """The admin sees "starting…" before the bot has recorded the run (Telegram shows a
    message before its answer reaches the bot); a cancel then must not say that nothing
    runs and leave the training going."""
    overrides = {**FAST_TRAINING, "retrain_steps": 1_000_000}
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **overrides) as h:
        admin = h.api.user(ADMIN_ID)
        h.api.inject_delay("sendMessage", 3.0)  # the answer to "starting…" is slow
        await h.api.send_document(admin, "corpus.txt", NEW_TEXT.encode(), caption="/retrain")
        await eventually(lambda: any("starting" in str(c.params.get("text")) for c in h.api.calls))
        # Two replies: "starting…" (its answer still on the way), edited to the run's end,
        # and the cancel's, which is the one outcome message.
        await h.ask(admin, "/retrain cancel", count=2)
        await eventually(lambda: not h.services.retrain.running, 60)
        async with h.services.storage.session_maker() as session:
            row = (await session.scalars(select(TrainingRunRow))).one()
        assert row.status == "cancelled"
        assert [m.text for m in h.api.messages_to(admin.chat_id)] == [
            "Training run #1: cancelled.",
            "Training run #1 was cancelled. Version 1 keeps serving.",
        ]


async def test_a_worse_model_is_stored_not_activated_and_can_be_activated_anyway(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    # One training step cannot beat the active model on its own corpus.
    overrides = {**FAST_TRAINING, "retrain_steps": 1}
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **overrides) as h:
        admin = h.api.user(ADMIN_ID)
        await upload(h, admin, TINY_TEXT.encode())
        await wait_run_finished(h)
        offer = await h.api.wait_for(
            lambda: next((m for m in h.api.messages_to(ADMIN_ID) if m.callback_data), None)
        )
        assert offer.callback_data == ["mv:use:2", "mv:discard:2"]
        assert (await h.services.storage.active_model_version()).id == 1
        since = h.api.mark(ADMIN_ID)
        await h.api.press_button(admin, offer, "mv:use:2")
        [done] = await h.api.wait_for_messages(ADMIN_ID, 1, since=since)
        assert "Version 2 is now active" in (done.text or "")
        assert h.services.engine.version == 2


@pytest.mark.slow
async def test_retraining_the_same_text_with_the_same_settings_asks_first(
    harness: Harness, admin: FakeUser
) -> None:
    await upload(harness, admin, NEW_TEXT.encode())
    await wait_run_finished(harness)
    question = await upload(harness, admin, NEW_TEXT.encode())
    assert "already trained with the same settings" in (question.text or "")
    assert await count(harness, TrainingRunRow) == 1
    since = harness.api.mark(ADMIN_ID)
    await harness.api.press_button(admin, question, question.callback_data[0])
    [status] = await harness.api.wait_for_messages(ADMIN_ID, 1, since=since)
    assert "Training on corpus" in (status.text or "")
    await wait_run_finished(harness)
    assert await count(harness, TrainingRunRow) == 2


@pytest.mark.slow
async def test_models_lists_versions_and_use_rolls_back(harness: Harness, admin: FakeUser) -> None:
    await upload(harness, admin, NEW_TEXT.encode())
    await wait_run_finished(harness)
    [listing] = await harness.ask(admin, "/models")
    assert "#2 ✅ active" in (listing.text or "") and "#1 ·" in (listing.text or "")
    [rolled] = await harness.ask(admin, "/use 1")
    assert "Version 1 is now active" in (rolled.text or "")
    assert await write_version(harness, harness.api.user(5003)) == 1
    [bad] = await harness.ask(admin, "/use 99")
    assert "no model version 99" in (bad.text or "")
    [junk] = await harness.ask(admin, "/use abc")
    assert "Usage" in (junk.text or "")
    assert (await harness.services.storage.active_model_version()).id == 1


async def test_generations_pages_and_filters(harness: Harness, admin: FakeUser) -> None:
    a, b = harness.api.user(6001), harness.api.user(6002)
    # Two replies each: the text, then the note that the digit was left out.
    for i in range(4):
        await harness.ask(a, f"/write البحر {i}", count=2)
    for i in range(3):
        await harness.ask(b, f"/write المدينة {i}", count=2)
    [page] = await harness.ask(admin, "/generations")
    assert "Generations 1–5 of 7" in (page.text or "")
    assert page.callback_data == ["gen:5:-:-"]
    await harness.api.press_button(admin, page, "gen:5:-:-")
    await harness.api.wait_for_edit(page, lambda m: "Generations 6–7 of 7" in (m.text or ""))
    assert page.callback_data == ["gen:0:-:-"]
    [only_b] = await harness.ask(admin, "/generations user 6002")
    assert "of 3" in (only_b.text or "") and "user 6001" not in (only_b.text or "")
    [by_model] = await harness.ask(admin, "/generations model 1")
    assert "of 7" in (by_model.text or "")
    [none] = await harness.ask(admin, "/generations model 9")
    assert "No generations match" in (none.text or "")
    [bad] = await harness.ask(admin, "/generations user x")
    assert "Filters:" in (bad.text or "")


async def test_export_is_a_csv_that_round_trips_with_arabic_intact(
    harness: Harness, admin: FakeUser
) -> None:
    user = harness.api.user(6003)
    await harness.ask(user, "/write في الصباح")
    await harness.ask(harness.api.user(6004), "/write البحر")
    [doc] = await harness.ask(admin, "/export user 6003")
    assert doc.kind == "document" and (doc.filename or "").endswith(".csv")
    assert doc.document is not None and doc.document.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(doc.document.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["seed"] == "في الصباح" and rows[0]["output"].startswith("في الصباح")
    assert rows[0]["user_id"] == "6003" and rows[0]["model_version_id"] == "1"


async def test_stats_reports_users_generations_latency_model_and_training(
    harness: Harness, admin: FakeUser
) -> None:
    await harness.ask(harness.api.user(6005), "/write البحر")
    [reply] = await harness.ask(admin, "/stats")
    text = reply.text or ""
    assert "Generations: 1 today (UTC), 1 in total" in text
    assert "p50" in text and "Active model: version 1" in text
    assert "No training is running" in text


async def test_stopping_the_bot_cancels_a_running_training_and_records_why(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    overrides = {**FAST_TRAINING, "retrain_steps": 1_000_000}
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **overrides) as h:
        await upload(h, h.api.user(ADMIN_ID), NEW_TEXT.encode())
        await eventually(lambda: h.services.retrain.current is not None)
        run = h.services.retrain.current
        await eventually(lambda: run.last is not None, 60)
        await h.restart()
        async with h.services.storage.session_maker() as session:
            row = (await session.scalars(select(TrainingRunRow))).one()
        assert row.status == "cancelled" and said(None, row.error or "") == "the bot was stopped"
        assert run.process._proc is not None and run.process._proc.returncode is not None
