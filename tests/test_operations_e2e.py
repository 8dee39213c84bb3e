"""Webhook mode, and SIGTERM to a real ``python -m bot`` process during a burst."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
from pathlib import Path

from tests.botapi import FakeBotApi
from tests.conftest import TINY_TEXT
from tests.harness import TEST_TOKEN, prepare_workdir, running_bot
from tests.processes import start_module

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode_checks_the_secret_on_every_request(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    port = free_port()
    secret = "s3cret_webhook-token"
    async with running_bot(
        tmp_path,
        tiny_checkpoint_path,
        TINY_TEXT,
        webhook_url=f"http://127.0.0.1:{port}/telegram/hook",
        webhook_secret=secret,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    ) as h:
        assert h.api.webhook is not None
        assert h.api.webhook.url == f"http://127.0.0.1:{port}/telegram/hook"
        assert h.api.webhook.secret_token == secret
        user = h.api.user(3001)
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": 3001, "type": "private"},
                "from": user.to_dict(),
                "text": "/write البحر",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        assert await h.api.post_raw_to_webhook(update, None) == 403
        assert await h.api.post_raw_to_webhook(update, "wrong") == 403
        await asyncio.sleep(0.3)
        assert h.api.messages_to(3001) == []
        assert await h.api.post_raw_to_webhook(update, secret) == 200
        [reply] = await h.api.wait_for_messages(3001, 1)
        assert (reply.text or "").startswith("البحر")
        # Updates the fake server delivers itself also arrive, with the secret.
        [answer] = await h.ask(user, "/temp")
        assert "temperature" in (answer.text or "")


async def test_sigterm_during_a_burst_keeps_every_answered_generation(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    prepare_workdir(tmp_path, tiny_checkpoint_path, TINY_TEXT)
    db = tmp_path / "bot.db"
    async with FakeBotApi(TEST_TOKEN) as api:
        env = {
            **os.environ,
            "BOT_TOKEN": TEST_TOKEN,
            "TELEGRAM_API_URL": api.base_url.removesuffix("/bot"),
            "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
            "CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
            "CORPUS_DIR": str(tmp_path / "corpora"),
            "CORPUS_PATH": str(tmp_path / "corpus.txt"),
            "DEVICE": "cpu",
            "RATE_LIMIT": "false",
            "DEFAULT_LENGTH": "2000",  # long enough that some are mid-flight at SIGTERM
            "LOG_LEVEL": "INFO",
        }
        proc = await start_module("bot", cwd=tmp_path, env=env)
        try:
            await api.wait_for(lambda: api.calls_to("setMyCommands") or None, 60, "bot ready")
            users = [api.user(8000 + i) for i in range(40)]
            for i, u in enumerate(users):
                await api.send_text(u, f"/write في الصباح {i}")
            await api.wait_for(
                lambda: sum(bool(api.messages_to(u.chat_id)) for u in users) >= 3 or None,
                60,
                "first replies",
            )
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
        log = stderr.decode()
        assert proc.returncode == 0, log
        assert "stopped cleanly" in log
        assert TEST_TOKEN not in log
        answered = {
            u.id: m.raw_text
            for u in users
            for m in api.messages_to(u.chat_id)
            if (m.raw_text or "").startswith("في الصباح")
        }
    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute("SELECT user_id, output FROM generations").fetchall())
    assert answered, "no reply arrived before SIGTERM"
    for user_id, text in answered.items():
        assert stored.get(user_id) == text
