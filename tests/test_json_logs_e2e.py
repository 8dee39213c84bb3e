"""``LOG_FORMAT=json``: a real ``python -m bot`` at DEBUG writes one JSON object per line,
through a served /write, an API error quoting the token, a stop, a failed start and a
crash; no field of any object carries the token's secret, in any encoding."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.botapi import FakeBotApi
from tests.conftest import TINY_TEXT
from tests.harness import TEST_TOKEN, prepare_workdir, process_env
from tests.test_redaction import BOT_ID, SECRET, assert_clean

ROOT = Path(__file__).resolve().parents[1]


def env_for(api: FakeBotApi, workdir: Path) -> dict[str, str]:
    return process_env(
        api, workdir, sealed=True, LOG_LEVEL="DEBUG", LOG_FORMAT="json", STARTUP_RETRY_S="0"
    )


def records(output: str) -> list[dict[str, Any]]:
    """Every line as a JSON object (a line that is not one fails the test)."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines, "no output at all"
    parsed = []
    for line in lines:
        record = json.loads(line)
        assert isinstance(record, dict), line
        parsed.append(record)
    return parsed


def strings(value: Any) -> list[str]:
    """Every string in a record, keys included, however deeply nested."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [str(value)]


def assert_no_secret(found: list[dict[str, Any]]) -> None:
    for record in found:
        for text in strings(record):
            assert_clean(text)


async def run_bot(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_a_served_write_an_api_error_and_a_stop_are_json_lines_without_the_token(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    prepare_workdir(tmp_path, tiny_checkpoint_path, TINY_TEXT)
    async with FakeBotApi(TEST_TOKEN) as api:
        proc = await run_bot(env_for(api, tmp_path), tmp_path)
        # Both pipes read all along: DEBUG output overflows a pipe's buffer.
        output_task = asyncio.create_task(proc.communicate())
        try:
            await api.wait_for(lambda: api.calls_to("setMyCommands") or None, 90, "bot ready")
            user = api.user(5200)
            await api.send_text(user, "/write في الصباح")
            await api.wait_for_messages(user.chat_id, 1, 60)
            api.inject_error(
                "sendMessage", f"Bad Request: upstream /bot{BOT_ID}%3A{SECRET} and {TEST_TOKEN}"
            )
            await api.send_text(user, "/write البحر")
            await api.wait_for_messages(user.chat_id, 2, 60)  # the apology
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(output_task, 60)
    output = stderr.decode()
    assert proc.returncode == 0, output[-3000:]
    found = records(output)
    assert_no_secret(found)
    assert {"asctime", "level", "logger", "message"} <= set(found[0])
    assert any(r["level"] == "DEBUG" for r in found)
    write = next(r for r in found if str(r["message"]).startswith("write user=5200"))
    assert write["update_id"] > 0 and write["user_id"] == 5200
    assert write["chat_type"] == "private"
    assert write["model_version"] == 1 and write["latency_ms"] >= 0
    refused = [r for r in found if "upstream /bot" in str(r["message"]).lower()]
    assert refused and all(r["user_id"] == 5200 for r in refused)


async def test_a_failed_start_is_one_json_line_without_the_token(tmp_path: Path) -> None:
    prepare_workdir(tmp_path, Path(__file__), TINY_TEXT)  # any file: it never gets that far
    async with FakeBotApi(TEST_TOKEN) as api:
        api.inject_error("getMe", f"Unauthorized: {TEST_TOKEN}", 401, times=5)
        proc = await run_bot(env_for(api, tmp_path), tmp_path)
        _, stderr = await asyncio.wait_for(proc.communicate(), 90)
    found = records(stderr.decode())
    assert proc.returncode == 2
    assert_no_secret(found)
    assert found[-1]["message"].startswith("error: ")
    assert found[-1]["level"] == "CRITICAL"


def test_a_crash_is_json_with_its_traceback_and_without_the_token(tmp_path: Path) -> None:
    code = (
        "from bot.settings import crash\n"
        "from bot.settings.logging_setup import setup_logging\n"
        "crash.install()\n"
        f"setup_logging('DEBUG', {TEST_TOKEN!r}, 'json')\n"
        f"raise RuntimeError('a bug quoting ' + {TEST_TOKEN!r})\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 1
    [crashed] = records(run.stderr)
    assert_no_secret([crashed])
    assert crashed["message"].startswith("uncaught exception")
    assert "RuntimeError: a bug quoting 123456789:[BOT_TOKEN]" in crashed["exc_info"]
