"""The durable inbox: updates recorded before they are acknowledged, each answered once.

* a webhook POST is answered 200 only once the update is in the ``updates`` table, and
  the same update posted twice (Telegram redelivering) gets one answer;
* an update a dead process had claimed, with its text stored but never sent, is taken
  over: the stored text is sent once and no second text is written;
* an update whose reply was handed to Telegram when its process died (its mark set, no
  answer recorded) is not answered again, and its text counts as delivered;
* kill -9 of a real polling ``python -m bot`` in the middle of a burst, just after
  Telegram confirmed a reply (before the process can record that), and a restart:
  every user gets exactly one message and no generation stays undelivered. The kill
  avoids the milliseconds between a reply's mark and Telegram, where it would lose
  that reply: the design's stated residual window (docs/OPERATIONS.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.botapi import FakeBotApi, FakeUser
from tests.conftest import TINY_TEXT
from tests.faults import db_rows
from tests.harness import TEST_TOKEN, Harness, prepare_workdir, process_env, running_bot
from tests.processes import Process, start_module
from tests.test_operations_e2e import free_port

SEED = "في الصباح"


def write_update(update_id: int, user: FakeUser, seed: str) -> dict[str, object]:
    text = f"/write {seed}"
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user.id, "type": "private"},
            "from": user.to_dict(),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


def left_by_a_dead_process(
    db: Path, user: FakeUser, update_id: int, output: str, *, reply_started: bool
) -> None:
    """The rows a process killed while answering ``user``'s ``update_id`` (a minute ago)
    leaves behind: ``output`` stored, not delivered, and the update still claimed by that
    process, its reply marked as on its way to Telegram or not.

    Blocking: run it in a thread. The bot under test shares the test's event loop and may
    hold SQLite's write lock across an await; waiting for the lock on the loop's thread
    would keep it from ever letting go (the test then failed with "database is locked"
    after the 30 s timeout, now and then)."""
    long_ago = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    # the bot may hold the write lock for a moment: wait as its own writes would
    with sqlite3.connect(db, timeout=30) as conn:
        conn.execute(
            "INSERT INTO generations (user_id, chat_id, seed, temperature, length, output,"
            " latency_ms, created_at, delivered, source, update_id)"
            " VALUES (?, ?, ?, 0.8, 50, ?, 1.0, ?, 0, 'command', ?)",
            (user.id, user.id, SEED, output, long_ago, update_id),
        )
        conn.execute(
            "INSERT INTO updates (update_id, payload, received_at, claimed_by, claimed_until,"
            " attempts, reply_started_at) VALUES (?, ?, ?, 'bot@gone:1:dead', ?, 1, ?)",
            (
                update_id,
                json.dumps(write_update(update_id, user, SEED)),
                long_ago,
                long_ago,
                long_ago if reply_started else None,
            ),
        )


async def test_a_webhook_update_is_recorded_before_200_and_a_redelivery_is_answered_once(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    port = free_port()
    secret = "inbox_secret"
    async with running_bot(
        tmp_path,
        tiny_checkpoint_path,
        TINY_TEXT,
        webhook_url=f"http://127.0.0.1:{port}/hook",
        webhook_secret=secret,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    ) as h:
        update = write_update(900_001, h.api.user(3101), SEED)
        assert await h.api.post_raw_to_webhook(update, secret) == 200
        # acknowledged means stored: the row exists the moment the 200 arrived
        assert db_rows(tmp_path / "bot.db", "SELECT update_id FROM updates") == [(900_001,)]
        assert await h.api.post_raw_to_webhook(update, secret) == 200  # Telegram again
        await h.api.wait_for_messages(3101, 1)
        await asyncio.sleep(1.5)  # a second answer would arrive now
        assert len(h.api.messages_to(3101)) == 1, h.api.describe(3101)
        assert db_rows(tmp_path / "bot.db", "SELECT count(*) FROM generations") == [(1,)]
        assert await h.api.post_raw_to_webhook({"no": "update"}, secret) == 400


async def test_an_update_a_dead_process_left_with_its_text_stored_gets_that_text_once(
    harness: Harness,
) -> None:
    h = harness
    user = h.api.user(3201)
    await h.ask(user, "/start")  # the user's row, as a first /write would have made it
    db = h.workdir / "bot.db"
    # what a process killed between storing the text and sending it leaves behind
    text = SEED + " الذي كتب قبل الموت"
    await asyncio.to_thread(left_by_a_dead_process, db, user, 900100, text, reply_started=False)
    since = h.api.mark(user.chat_id)
    [sent] = await h.api.wait_for_messages(user.chat_id, 1, since=since, timeout=30)
    assert sent.raw_text == text
    await asyncio.sleep(1.5)
    assert len(h.api.messages_to(user.chat_id)) - since == 1, h.api.describe(user.chat_id)
    assert db_rows(db, "SELECT count(*), min(delivered) FROM generations") == [(1, 1)]
    assert db_rows(db, "SELECT done_at IS NOT NULL FROM updates WHERE update_id = 900100") == [(1,)]


@pytest.mark.slow
async def test_an_update_whose_reply_was_on_its_way_when_its_process_died_is_not_answered_again(
    harness: Harness,
) -> None:
    h = harness
    user = h.api.user(3301)
    await h.ask(user, "/start")
    db = h.workdir / "bot.db"
    # a process killed after handing the text to Telegram, before its answer came back
    text = SEED + " في الطريق"
    await asyncio.to_thread(left_by_a_dead_process, db, user, 900200, text, reply_started=True)
    since = h.api.mark(user.chat_id)

    def taken_over() -> bool | None:
        return (
            db_rows(db, "SELECT done_at IS NOT NULL FROM updates WHERE update_id = 900200")
            == [(1,)]
            or None
        )

    await h.api.wait_for(taken_over, 30, "the update taken over")
    await asyncio.sleep(1.0)  # a second text would arrive now
    assert len(h.api.messages_to(user.chat_id)) == since, h.api.describe(user.chat_id)
    # the text Telegram had is counted as delivered, not left for anything to resend
    assert db_rows(db, "SELECT count(*), min(delivered) FROM generations") == [(1, 1)]


# Users whose reply a process ``{pid}`` has marked as on its way to Telegram.
REPLIES_STARTED = (
    "SELECT g.user_id FROM generations g JOIN updates u ON u.update_id = g.update_id"
    " WHERE u.reply_started_at IS NOT NULL AND u.claimed_by LIKE '%:{pid}:%'"
)


async def kill_outside_a_send(
    proc: Process,
    api: FakeBotApi,
    users: list[FakeUser],
    replies_started: Callable[[str], Awaitable[set[int]]],
) -> None:
    """kill -9 of ``proc`` at a moment none of its replies is between its mark being
    committed and Telegram holding it: the one window in which a kill loses a reply
    (milliseconds; docs/OPERATIONS.md, "Durable inbox", gives its measured size). The
    process is frozen, the database (``replies_started`` runs a query) and the Bot API
    compared, and it is killed, or let go on for a moment and tried again."""
    waiting = {u.id for u in users}
    for _ in range(200):
        proc.send_signal(signal.SIGSTOP)
        # what the frozen process already wrote to its sockets reaches the Bot API (as the
        # kernel would deliver it after a kill): let this process's fake read it first
        await asyncio.sleep(0.05)
        started = await replies_started(REPLIES_STARTED.format(pid=proc.pid))
        if not any(u in waiting and not api.messages_to(u) for u in started):
            proc.kill()
            await proc.wait()
            return
        proc.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.01)
    raise AssertionError("no moment without a reply on its way")


def bot_env(api: FakeBotApi, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        **process_env(
            api, workdir, USER_MAX_PENDING="0", USER_RATE_PER_MINUTE="0", LOG_LEVEL="INFO",
            DEFAULT_LENGTH="1500",  # long enough that some are mid-flight at the kill
            # Telegram's pacing (30 messages a second in all): the burst lasts seconds, so
            # the kill lands in it however fast the bot writes
            RATE_LIMIT="true",
        ),
    }  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(420)  # two start-ups of a real process (torch imports) on 2 cores
async def test_kill_9_of_a_polling_process_mid_burst_then_a_restart_answers_everyone_once(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    prepare_workdir(tmp_path, tiny_checkpoint_path, TINY_TEXT)
    log = tmp_path / "bot.log"
    async with FakeBotApi(TEST_TOKEN) as api:
        env = bot_env(api, tmp_path)

        async def start() -> Process:
            with log.open("ab") as out:
                return await start_module("bot", cwd=tmp_path, env=env, stdout=out, stderr=out)

        users = [api.user(8100 + i) for i in range(40)]

        def answered() -> int:
            return sum(bool(api.messages_to(u.chat_id)) for u in users)

        proc = await start()
        try:
            await api.wait_for(lambda: api.calls_to("setMyCommands") or None, 120, "bot ready")
            for user in users:
                await api.send_text(user, f"/write {SEED}")
            await api.wait_for(lambda: answered() >= 3 or None, 120, "first replies")

            async def replies_started(query: str) -> set[int]:
                return {u for (u,) in db_rows(tmp_path / "bot.db", query) if isinstance(u, int)}

            await kill_outside_a_send(proc, api, users, replies_started)
            assert answered() < len(users), "the burst ended before the kill"
            proc = await start()
            await api.wait_for(lambda: answered() == len(users) or None, 120, "every user")
            await asyncio.sleep(2.0)  # a duplicate would arrive now
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 60)
    text = log.read_text(errors="replace")
    assert TEST_TOKEN not in text
    for user in users:
        got = [m.raw_text or "" for m in api.messages_to(user.chat_id)]
        assert len(got) == 1 and got[0].startswith(SEED), (user.id, got)
    db = tmp_path / "bot.db"
    assert db_rows(db, "SELECT count(*) FROM generations WHERE delivered = 0") == [(0,)]
    assert db_rows(db, "SELECT count(*) FROM updates WHERE done_at IS NULL") == [(0,)]
    stored = {u: o for u, o in db_rows(db, "SELECT user_id, output FROM generations")}
    for user in users:
        assert stored[user.id] == api.messages_to(user.chat_id)[0].raw_text


async def test_an_update_being_handled_is_claimed_for_the_inbox_lease_setting(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, inbox_lease_s=42) as h:
        user = h.api.user(3301)
        h.api.inject_delay("sendMessage", 3.0)  # the reply is on its way: still claimed
        await h.api.send_text(user, f"/write {SEED}")
        db = h.workdir / "bot.db"

        def claim() -> tuple[object, ...] | None:
            found = db_rows(
                db, "SELECT received_at, claimed_until FROM updates WHERE done_at IS NULL"
            )
            return found[0] if found and found[0][1] is not None else None

        received, until = await h.api.wait_for(claim, 30, "the update claimed")
        [reply] = await h.api.wait_for_messages(user.chat_id, 1, timeout=30)
    lease = datetime.fromisoformat(str(until)) - datetime.fromisoformat(str(received))
    # claimed within a second or two of being recorded, for 42 s (not the default 15)
    assert timedelta(seconds=40) < lease < timedelta(seconds=45), lease
    assert reply.raw_text and reply.raw_text.startswith(SEED)
