"""``python -m bot.ops migrate`` and ``healthcheck``, on SQLite and (when set) PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.ops import cli as ops
from bot.storage import alembic_config
from tests.postgres import fresh_postgres_database, needs_postgres

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_postgres)])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'var' / 'bot.db'}"
        return
    async with fresh_postgres_database("test_ops") as fresh:
        yield fresh


def run_sync(fn: Callable[..., int], *args: Any, **kwargs: Any) -> tuple[int, str]:
    out = io.StringIO()
    return fn(*args, out=out, **kwargs), out.getvalue()


async def off_loop(fn: Callable[..., int], *args: Any, **kwargs: Any) -> tuple[int, str]:
    """``ops.migrate`` / ``ops.healthcheck`` run their own event loop: call them off this one."""
    return await asyncio.to_thread(run_sync, fn, *args, **kwargs)


async def test_healthcheck_fails_before_and_passes_after_migrate(url: str) -> None:
    code, line = await off_loop(ops.healthcheck, url)
    assert code == 1 and line.startswith("unhealthy: ")
    assert line.count("\n") == 1

    code, line = await off_loop(ops.migrate, url)
    assert (code, line.count("\n")) == (0, 1), line
    head = ops.expected_heads(url)
    assert line.startswith("migrated: ") and line.rstrip().endswith(",".join(sorted(head)))

    code, line = await off_loop(ops.migrate, url)  # idempotent
    assert code == 0, line

    code, line = await off_loop(ops.healthcheck, url)
    assert code == 0 and line.startswith("healthy: "), line


async def test_healthcheck_names_an_old_revision(url: str) -> None:
    assert (await off_loop(ops.migrate, url))[0] == 0
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0001")
    code, line = await off_loop(ops.healthcheck, url)
    assert code == 1
    assert "at revision 0001, expected" in line and "python -m bot.ops migrate" in line


def test_healthcheck_does_not_create_a_missing_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "missing.db"
    code, line = run_sync(ops.healthcheck, f"sqlite+aiosqlite:///{db}")
    assert code == 1 and "does not exist" in line
    assert not db.exists()


def test_unreachable_database_is_reported_without_the_password() -> None:
    url = "postgresql+asyncpg://bot:s3cret-pw@127.0.0.1:1/bot"
    code, line = run_sync(ops.healthcheck, url, timeout=5)
    assert code == 1 and line.startswith("unhealthy: postgresql+asyncpg://bot:***@127.0.0.1:1/bot")
    assert "s3cret-pw" not in line
    code, line = run_sync(ops.migrate, url)
    assert code == 1 and line.startswith("error: migrating ") and "s3cret-pw" not in line


def test_url_comes_from_database_url_without_a_bot_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert ops.database_url() == "sqlite+aiosqlite:///var/bot.db"  # Settings' default
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite+aiosqlite:///from-dotenv.db\n")
    assert ops.database_url() == "sqlite+aiosqlite:///from-dotenv.db"
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///from-env.db")
    assert ops.database_url() == "sqlite+aiosqlite:///from-env.db"
    assert ops.database_url("sqlite+aiosqlite:///given.db") == "sqlite+aiosqlite:///given.db"


def test_the_command_line_imports_neither_torch_nor_telegram(tmp_path: Path) -> None:
    code = (
        "import sys, runpy; sys.argv = ['bot.ops', 'healthcheck'];\n"
        "try: runpy.run_module('bot.ops', run_name='__main__')\n"
        "except SystemExit as e: code = e.code\n"
        "heavy = sorted(m for m in ('torch', 'telegram', 'model') if m in sys.modules)\n"
        "print('heavy:', heavy, 'exit:', code)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": "sqlite+aiosqlite:///none.db"}
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.stdout.splitlines()[-1] == "heavy: [] exit: 1", run.stdout + run.stderr


def webhook_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, port: int) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/telegram")
    monkeypatch.setenv("WEBHOOK_LISTEN", "0.0.0.0")
    monkeypatch.setenv("WEBHOOK_PORT", str(port))


async def test_in_webhook_mode_healthy_waits_for_the_webhook_port(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await off_loop(ops.migrate, url))[0] == 0
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    webhook_env(monkeypatch, tmp_path, url, port)

    code, line = await off_loop(ops.healthcheck)  # migrated, but the bot does not listen yet
    assert code == 1, line
    assert line.startswith(f"unhealthy: the webhook port 127.0.0.1:{port} refuses connections")
    assert line.count("\n") == 1

    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
    try:
        code, line = await off_loop(ops.healthcheck)
    finally:
        server.close()
        await server.wait_closed()
    assert code == 0, line
    assert line.startswith("healthy: ") and line.rstrip().endswith(f"127.0.0.1:{port} listening")


async def test_in_webhook_mode_an_unmigrated_database_is_still_the_reason(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    webhook_env(monkeypatch, tmp_path, url, server.sockets[0].getsockname()[1])
    try:
        code, line = await off_loop(ops.healthcheck)
    finally:
        server.close()
        await server.wait_closed()
    assert code == 1 and line.startswith("unhealthy: ") and "webhook port" not in line, line


def test_a_polling_bot_needs_no_webhook_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    assert run_sync(ops.migrate, url)[0] == 0
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("WEBHOOK_URL", raising=False)
    code, line = run_sync(ops.healthcheck)
    assert code == 0 and "webhook port" not in line, line


async def test_a_database_a_newer_bot_migrated_is_named_and_left_alone(url: str) -> None:
    """An upgrade rolled back: the old image must neither crash nor touch the database."""
    assert (await off_loop(ops.migrate, url))[0] == 0
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    await engine.dispose()

    code, line = await off_loop(ops.migrate, url)
    assert code == 2, line
    assert line.startswith("error: the database DATABASE_URL=") and line.count("\n") == 1
    assert "is at revision 0099, which this version of the bot does not know" in line
    code, line = await off_loop(ops.healthcheck, url)
    assert code == 1 and "at revision 0099, expected" in line, line
