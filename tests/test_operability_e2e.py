"""Probes, metrics and alerts of the real bot, through the loopback Bot API and real HTTP.

``/readyz`` is 503 while the bot starts (before a model is loaded) and while it stops,
200 while it serves; ``/metrics`` moves as texts are written, refused, retried and
trained; ten identical unexpected errors within ALERT_INTERVAL_S are one alert to the
admins while the interval lasts, and their count follows in one more message.

The metrics live in the process-wide registry, so every check compares a value with the
one read before the step (another test may have run in this process first).
"""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.ops import cli as ops
from bot.runner import RunningBot
from tests.botapi import FakeBotApi
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, TEST_TOKEN, make_settings, prepare_workdir, running_bot

SEED = "في الصباح"
# A retraining in about a second: these tests check what it is counted as, not its model.
QUICK_TRAINING: dict[str, Any] = {
    "retrain_steps": 60,
    "retrain_seq_len": 16,
    "retrain_batch_size": 8,
    "retrain_hidden_size": 32,
    "retrain_embed_size": 8,
}
NEW_TEXT = ("الشمس تشرق على الجبال العالية والريح تحمل رائحة المطر.\n" * 12).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.text()


async def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``: (name, sorted labels) -> value."""
    status, text = await get(port, "/metrics")
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def healthcheck() -> tuple[int, str]:
    """``python -m bot.ops healthcheck``'s answer (it runs its own loop: off this one)."""
    out = io.StringIO()
    code = await asyncio.to_thread(ops.healthcheck, out=out)
    return code, out.getvalue()


@pytest.mark.slow
async def test_readyz_is_503_while_starting_and_stopping_and_200_while_serving(
    tmp_path: Path, tiny_checkpoint_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare_workdir(tmp_path, tiny_checkpoint_path, TINY_TEXT)
    port = free_port()
    # The image's healthcheck reads the same settings as the bot.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("HEALTH_PORT", str(port))
    monkeypatch.delenv("WEBHOOK_URL", raising=False)
    async with FakeBotApi(TEST_TOKEN) as api:
        # The Bot API answers slowly at first: the bot is up but has loaded nothing yet.
        api.inject_delay("getMe", 6.0)
        settings = make_settings(api, tmp_path, health_port=port, startup_timeout_s=30)
        bot = RunningBot(settings)
        starting = asyncio.create_task(bot.start())
        while True:  # the first answer of the probe, once its port listens
            try:
                status, body = await get(port, "/readyz")
                break
            except aiohttp.ClientConnectionError:
                assert not starting.done(), "the bot started before its probe answered"
                await asyncio.sleep(0.05)
        assert (status, body) == (503, "not ready: starting: no model loaded yet\n")
        assert await get(port, "/healthz") == (200, "ok\n")  # alive all the same
        code, line = await healthcheck()
        assert code == 1 and line.startswith("unhealthy: "), line  # not migrated yet, even
        await starting
        assert await get(port, "/readyz") == (200, "ready\n")
        code, line = await healthcheck()
        assert code == 0 and line.rstrip().endswith(f"127.0.0.1:{port}/readyz ready"), line
        assert value(await scrape(port), "bot_ready") == 1

        # A stop: not ready before the updates stop being taken, while a text is still
        # being sent (its sendMessage answers slowly).
        user = api.user(501)
        api.inject_delay("sendMessage", 3.0)
        await api.send_text(user, f"/write {SEED}")
        await api.wait_for(lambda: api.calls_to("sendMessage") or None, 60, "a reply on its way")
        stopping = asyncio.create_task(bot.stop())
        await asyncio.sleep(0)  # the stop's first step, before anything it awaits
        assert await get(port, "/readyz") == (503, "not ready: stopping\n")
        await stopping
        assert len(api.messages_to(user.id)) == 1  # the text in flight was still sent


async def test_metrics_move_as_texts_are_written_refused_retried_and_trained(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    port = free_port()
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, health_port=port, **QUICK_TRAINING
    ) as h:
        before = await scrape(port)
        users = [h.api.user(600 + i) for i in range(3)]
        await asyncio.gather(*(h.ask(u, f"/write {SEED}") for u in users))
        after = await scrape(port)

        def moved(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert moved("bot_generations_total", source="write", outcome="delivered", reason="") == 3
        assert moved("bot_generation_latency_seconds_count", source="write") == 3
        assert moved("bot_telegram_requests_total", method="sendMessage", result="ok") >= 3
        assert moved("bot_engine_completed_total") >= 3
        assert moved("bot_engine_steps_total") > 0
        assert value(after, "bot_model_version") == 1
        assert value(after, "process_resident_memory_bytes") > 0  # the library's own

        # Refused: a seed in an alphabet the model never saw.
        before = after
        await h.ask(users[0], "/write zzz")
        after = await scrape(port)
        assert moved("bot_generations_total", source="write", outcome="refused",
                     reason="seed_unknown") == 1  # fmt: skip
        assert moved("bot_generations_total", source="write", outcome="delivered", reason="") == 0

        # Retried: Telegram fails once with a 500, then once with a 429.
        before = after
        h.api.inject_error("sendMessage", "Internal Server Error", 500)
        h.api.inject_error("sendMessage", "Too Many Requests: retry after 1", 429, retry_after=1)
        replies = await h.ask(users[1], f"/write {SEED}")
        after = await scrape(port)
        assert len(replies) == 1
        assert moved("bot_telegram_requests_total", method="sendMessage", result="5xx") == 1
        assert moved("bot_telegram_requests_total", method="sendMessage", result="429") == 1
        assert moved("bot_telegram_retries_total", where="reply") == 2
        assert moved("bot_generations_total", source="write", outcome="delivered", reason="") == 1

        # Trained: a /retrain that succeeds.
        before = after
        admin = h.api.user(ADMIN_ID)
        await h.api.send_document(admin, "corpus.txt", NEW_TEXT, caption="/retrain")
        await h.api.wait_for(
            lambda: any("now active" in (m.text or "") for m in h.api.messages_to(ADMIN_ID))
            or None, 180, "the retraining's outcome",
        )  # fmt: skip
        after = await scrape(port)
        for state in ("queued", "running", "finishing", "succeeded"):
            assert moved("bot_training_runs_total", state=state) == 1, state
        assert moved("bot_training_runs_total", state="failed") == 0
        assert value(after, "bot_training_last_success_timestamp_seconds") > 0
        assert value(after, "bot_training_progress_ratio") == 0  # none runs now
        assert value(after, "bot_model_version") == 2
        # Bounded labels: no user or chat id is ever a label value.
        ids = {str(u.id) for u in [*users, admin]}
        labels = {v for _, pairs in after for _, v in pairs}
        assert labels.isdisjoint(ids), labels & ids


def drop_history(db: Path) -> None:
    """A fault the bot cannot expect: the generations table is gone. Blocking: the bot
    under test shares the loop and may hold the write lock across an await."""
    with sqlite3.connect(db, timeout=30) as connection:
        connection.execute("DROP TABLE generations")


async def test_ten_identical_errors_are_one_alert_and_then_one_count(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, alert_interval_s=3600) as h:
        api = h.api
        api.user(ADMIN_ID)  # the admin has a chat with the bot
        await asyncio.to_thread(drop_history, tmp_path / "bot.db")
        users = [api.user(700 + i) for i in range(10)]
        for user in users:  # each one is told something went wrong, once
            [reply] = await h.ask(user, "/history")
            assert "went wrong" in (reply.text or ""), reply.text
        await api.wait_for(lambda: api.messages_to(ADMIN_ID) or None, 30, "the alert")
        await asyncio.sleep(0.5)  # a second alert, were there one, would be on its way
        [alert] = api.messages_to(ADMIN_ID)
        assert (alert.text or "").startswith("⚠️ Unexpected error: OperationalError")
        assert "no such table: generations" in (alert.text or "")
        assert "SELECT" not in (alert.text or "")
    # The harness has stopped the bot: the interval was not over, so its count went out
    # at the stop, as one more message.
    texts = [m.text or "" for m in api.messages_to(ADMIN_ID)]
    assert len(texts) == 2, texts
    assert texts[1].startswith("⚠️ The same error again, 9 more times in the last 60 minutes: ")
    assert TEST_TOKEN.split(":")[1] not in "".join(texts)


async def test_a_cancelled_cleanup_logged_as_an_error_is_no_alert(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, alert_interval_s=3600) as h:
        api = h.api
        api.user(ADMIN_ID)
        # what SQLAlchemy's pool logs when a stop cancels a task inside its rollback
        pool_log = logging.getLogger("sqlalchemy.pool.impl.AsyncAdaptedQueuePool")
        try:
            raise asyncio.CancelledError
        except asyncio.CancelledError:
            pool_log.error("Exception during reset or similar", exc_info=True)
        try:
            raise RuntimeError("a real fault")
        except RuntimeError:
            pool_log.error("Exception during reset or similar", exc_info=True)
        await api.wait_for(lambda: api.messages_to(ADMIN_ID) or None, 30, "the alert")
        await asyncio.sleep(0.5)  # a second alert, were there one, would be on its way
        [alert] = api.messages_to(ADMIN_ID)
        assert (alert.text or "").startswith("⚠️ Unexpected error: RuntimeError: a real fault")


async def test_in_webhook_mode_the_probes_and_metrics_share_the_webhook_port(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    port = free_port()
    webhook = {
        "webhook_url": f"http://127.0.0.1:{port}/tg",
        "webhook_secret": "probe_Secret-1",
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
    }
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **webhook) as h:
        user = h.api.user(801)
        assert len(await h.ask(user, f"/write {SEED}")) == 1  # updates come by webhook
        assert await get(port, "/healthz") == (200, "ok\n")
        assert await get(port, "/readyz") == (200, "ready\n")
        after = await scrape(port)
        assert value(after, "bot_ready") == 1
        assert value(after, "bot_generations_total", source="write", outcome="delivered",
                     reason="") >= 1  # fmt: skip
