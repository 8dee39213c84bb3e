"""The token's secret never leaves the process: not in logs, crashes, or messages.

The secret is what follows the colon; it reaches text raw, percent-encoded (PTB writes
``/file/bot123%3ASECRET/...`` for downloads), fully percent-encoded by a proxy, or
``\\u``-escaped in a JSON dump.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram.error import InvalidToken

from bot.settings import crash
from bot.settings.redact import REDACTED, forget_secrets, redact, register_secret
from tests.botapi import FakeBotApi
from tests.conftest import TINY_TEXT
from tests.harness import (
    ADMIN_ID,
    TEST_TOKEN,
    prepare_workdir,
    process_env,
    running_bot,
    training_processes,
)

ROOT = Path(__file__).resolve().parents[1]
BOT_ID, SECRET = TEST_TOKEN.split(":", 1)


def percent_all(text: str) -> str:
    return "".join(f"%{ord(c):02X}" for c in text)


def assert_clean(text: str) -> None:
    assert SECRET.lower() not in text.lower()
    assert percent_all(SECRET) not in text.upper()


@pytest.fixture
def registered() -> Iterator[None]:
    register_secret(TEST_TOKEN)
    try:
        yield
    finally:
        forget_secrets()


@pytest.mark.parametrize(
    "text",
    [
        f"token {TEST_TOKEN} here",
        f"GET http://127.0.0.1:1/file/bot{BOT_ID}%3A{SECRET}/documents/file_1.txt",
        f"GET http://127.0.0.1:1/file/bot{BOT_ID}%3a{SECRET}/documents/file_1.txt",
        f"proxy: /bot{BOT_ID}{percent_all(':' + SECRET)}/getMe",
        f"proxy: /bot{BOT_ID}{percent_all(':' + SECRET).lower()}/getMe",
        "json: " + "".join(f"\\u{ord(c):04x}" for c in SECRET),
        f"the secret alone: {SECRET}.",
        f"PTB lower-cases bad requests: /bot{BOT_ID}%3a{SECRET.lower()}/sendmessage",
        f"or upper-cases: {SECRET.upper()}",
    ],
)
def test_every_encoding_of_the_secret_is_redacted(registered: None, text: str) -> None:
    cleaned = redact(text)
    assert REDACTED in cleaned
    assert_clean(cleaned)


def test_other_token_shaped_strings_are_redacted_and_ordinary_text_is_not() -> None:
    other = "987654321:ANOTHERbotANOTHERbotANOTHERbotANOTHER"
    assert redact(f"stale {other}") == f"stale {REDACTED}"
    assert redact(f"stale 987654321%3A{other.split(':')[1]}") == f"stale {REDACTED}"
    assert redact("version 12:30, pid 123456") == "version 12:30, pid 123456"


def test_the_crash_hooks_print_uncaught_exceptions_redacted() -> None:
    """A real interpreter: the main thread, another thread, and an unawaited task fail."""
    script = f"""
import asyncio, threading
from telegram.error import InvalidToken
from bot.settings import crash
from bot.settings.logging_setup import setup_logging
from bot.settings.redact import register_secret

crash.install()
register_secret({TEST_TOKEN!r})
setup_logging("INFO")
t = threading.Thread(target=lambda: (_ for _ in ()).throw(RuntimeError("thread {TEST_TOKEN}")))
t.start(); t.join()

async def main():
    crash.install_on_loop(asyncio.get_running_loop())
    async def fail():
        raise RuntimeError("task /file/bot{BOT_ID}%3A{SECRET}/x")
    task = asyncio.get_running_loop().create_task(fail())
    await asyncio.sleep(0.05)
    del task  # never awaited: the loop reports it when it is collected
    import gc; gc.collect()
asyncio.run(main())
raise InvalidToken("The token `{TEST_TOKEN}` was rejected by the server.")
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert "uncaught exception in thread" in output  # each report arrived...
    assert "Task exception was never retrieved" in output
    assert "InvalidToken" in output
    assert_clean(output)  # ...without the secret
    assert output.count(REDACTED) >= 3


def test_the_loop_handler_redacts_what_it_logs(
    registered: None, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.new_event_loop()
    try:
        error = InvalidToken(f"The token `{TEST_TOKEN}` was rejected by the server.")
        crash.loop_exception_handler(loop, {"message": f"boom {SECRET}", "exception": error})
    finally:
        loop.close()
    assert "InvalidToken" in caplog.text
    assert_clean(caplog.text)


def test_the_thread_hook_writes_the_report_redacted(
    registered: None, capsys: pytest.CaptureFixture[str]
) -> None:
    def target() -> None:
        raise RuntimeError(f"from a thread: {TEST_TOKEN}")

    previous = threading.excepthook
    threading.excepthook = crash.thread_excepthook
    try:
        thread = threading.Thread(target=target, name="worker")
        thread.start()
        thread.join()
    finally:
        threading.excepthook = previous
    err = capsys.readouterr().err
    assert "uncaught exception in thread worker" in err and "RuntimeError" in err
    assert_clean(err)


# --------------------------------------------------------------------------- messages


async def test_text_the_bot_sends_never_carries_the_secret(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    """Whatever produces a message's text, the request layer removes the secret."""
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT) as h:
        admin = h.api.user(ADMIN_ID)
        bot = h.bot.application.bot
        sent = await bot.send_message(ADMIN_ID, f"failed: GET /file/bot{BOT_ID}%3A{SECRET}/x")
        await bot.edit_message_text(f"now {TEST_TOKEN}", chat_id=ADMIN_ID, message_id=sent.id)
        await bot.send_document(ADMIN_ID, b"data", filename="a.txt", caption=f"c {SECRET}")
        messages = h.api.messages_to(admin.chat_id)
    texts = [m.raw_text or "" for m in messages] + [m.caption or "" for m in messages]
    texts += [edit for m in messages for edit in m.edits]
    assert len(messages) == 2 and messages[0].edits == [f"now {BOT_ID}:{REDACTED}"]
    for text in texts:
        assert_clean(text)
    assert any(REDACTED in text for text in texts)


# --------------------------------------------------------------------------- end to end


async def test_at_debug_a_download_an_api_error_and_a_killed_training_never_print_it(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    prepare_workdir(tmp_path, tiny_checkpoint_path, TINY_TEXT)
    async with FakeBotApi(TEST_TOKEN) as api:
        env = process_env(
            api,
            tmp_path,
            sealed=True,
            ADMIN_IDS=str(ADMIN_ID),
            LOG_LEVEL="DEBUG",
            RETRAIN_STEPS="1000000",
            RETRAIN_SEQ_LEN="16",
            RETRAIN_BATCH_SIZE="8",
            RETRAIN_HIDDEN_SIZE="16",
            RETRAIN_EMBED_SIZE="8",
            PROGRESS_EDIT_INTERVAL_S="0",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        # Read both pipes all along: DEBUG output (every SQL statement of the migrations)
        # overflows a pipe's buffer long before the bot is ready, and would block it.
        output_task = asyncio.create_task(proc.communicate())
        try:
            await api.wait_for(lambda: api.calls_to("setMyCommands") or None, 90, "bot ready")
            admin = api.user(ADMIN_ID, "Admin")
            # 1. A /retrain document: PTB downloads it from /file/bot<id>%3A<secret>/...
            await api.send_document(admin, "corpus.txt", (TINY_TEXT * 2).encode(), "/retrain")
            await api.wait_for(lambda: api.downloads or None, 60, "the download")
            status = await api.wait_for(
                lambda: next((m for m in api.messages_to(ADMIN_ID) if m.edits), None),
                90,
                "training progress",
            )
            # 2. The training process dies.
            [child] = await api.wait_for(
                lambda: training_processes(proc.pid) or None, 30, "trainer"
            )
            os.kill(child, signal.SIGKILL)
            await api.wait_for(
                lambda: any("keeps serving" in (m.text or "") for m in api.messages_to(ADMIN_ID)),
                60,
                "the failure report",
            )
            # 3. An API error whose description quotes the URL (as a proxy's might).
            api.inject_error(
                "sendMessage",
                f"Bad Request: upstream /bot{BOT_ID}%3A{SECRET}/sendMessage and {TEST_TOKEN}",
                400,
            )
            user = api.user(5100)
            await api.send_text(user, "/write البحر")
            await api.wait_for_messages(user.chat_id, 1, 60)  # the apology
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(output_task, 60)
        output = stderr.decode()
        assert proc.returncode == 0, output[-3000:]
        sent = [m.raw_text or m.text or "" for m in api.all_sent] + [
            edit for m in api.all_sent for edit in m.edits
        ]
    # The download was logged: percent-encoded by PTB's own download, raw by the retrain
    # download that enforces the size limit on the bytes; redacted either way.
    assert re.search(rf"/file/bot{BOT_ID}(%3A|:){re.escape(REDACTED)}/documents/", output)
    assert "SIGKILL" in output or any("SIGKILL" in text for text in sent)
    # The API error was logged (PTB changes its case), its secret redacted.
    assert f"upstream /bot{BOT_ID}%3a{REDACTED.lower()}/sendmessage" in output.lower()
    assert status.edits
    for text in [output, *sent]:
        assert_clean(text)
    logging.getLogger(__name__).info("captured %d lines of DEBUG output", output.count("\n"))
