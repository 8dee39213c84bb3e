"""Start-up failures of a real ``python -m bot``: one line, the right exit code, no token.

Each test runs the bot as a subprocess (its own interpreter, its own crash handlers)
against the loopback Bot API server, a closed port, or a server that never answers, and
reads everything it printed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.runner import RunningBot
from bot.settings.config import Settings, load_settings
from tests.botapi import FakeBotApi
from tests.conftest import TINY_TEXT
from tests.faults import skip_unless_readable_by
from tests.harness import TEST_TOKEN, prepare_workdir, process_env

ROOT = Path(__file__).resolve().parents[1]
SECRET = TEST_TOKEN.split(":", 1)[1]
TOKEN_LINE = (
    "error: Telegram rejected BOT_TOKEN (revoked or mistyped); get a new one from @BotFather"
)
OTHER_TOKEN = "987654321:ANOTHERbotANOTHERbotANOTHERbotANOTHER"
UNREACHABLE = "error: cannot reach the Telegram Bot API at TELEGRAM_API_URL="
DOCKER_UID = 10001


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bot_env(workdir: Path, api_url: str, **extra: str) -> dict[str, str]:
    """Only what the bot needs: nothing from the developer's environment or .env."""
    defaults = {"LOG_LEVEL": "INFO", "STARTUP_RETRY_S": "2", "STARTUP_TIMEOUT_S": "0.5"}
    return process_env(api_url, workdir, sealed=True, **(defaults | extra))


async def run_bot(
    workdir: Path,
    env: dict[str, str],
    prefix: tuple[str, ...] = (),
    timeout: float = 90,
    command: tuple[str, ...] = ("bot",),
) -> tuple[int, str]:
    """Runs ``python -m bot`` (or another ``command``) to its end; returns the exit code
    and stdout + stderr."""
    proc = await asyncio.create_subprocess_exec(
        *prefix, sys.executable, "-m", *command, cwd=workdir, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode() + err.decode()


def assert_no_secret(output: str) -> None:
    assert SECRET not in output
    assert "Traceback" not in output


# --------------------------------------------------------------------------- the token


@pytest.mark.slow
@pytest.mark.parametrize("how", ["401 for another token", "404 from getMe"])
async def test_a_rejected_token_is_one_line_exit_2_and_never_printed(
    tmp_path: Path, how: str
) -> None:
    async with FakeBotApi(OTHER_TOKEN if how.startswith("401") else TEST_TOKEN) as api:
        if how.startswith("404"):
            api.inject_error("getMe", "Not Found", 404)
        root = api.base_url.removesuffix("/bot")
        code, output = await run_bot(tmp_path, bot_env(tmp_path, root))
    assert code == 2, output
    assert output.splitlines() == [
        f"{TOKEN_LINE} (or TELEGRAM_API_URL={root} is not a Bot API server)"
    ]
    assert_no_secret(output)


# --------------------------------------------------------------------------- the network


async def test_a_closed_port_is_retried_then_one_error_line_naming_the_url(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, output = await run_bot(tmp_path, bot_env(tmp_path, url))
    lines = output.splitlines()
    assert code == 1, output
    assert lines[-1].startswith(
        f"error: cannot reach the Telegram Bot API at TELEGRAM_API_URL={url}"
    )
    attempts = lines[:-1]
    assert len(attempts) >= 2, output  # it did retry within STARTUP_RETRY_S=2
    assert all("did not answer getMe (attempt" in line for line in attempts), output
    assert_no_secret(output)


@pytest.mark.slow
async def test_a_server_that_accepts_and_never_answers_times_out_per_attempt(
    tmp_path: Path,
) -> None:
    held: list[asyncio.StreamWriter] = []

    async def accept_and_hang(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # read nothing, answer nothing, keep the connection open

    server = await asyncio.start_server(accept_and_hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        code, output = await run_bot(tmp_path, bot_env(tmp_path, url))
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    lines = output.splitlines()
    assert code == 1, output
    assert lines[-1].startswith(
        f"error: cannot reach the Telegram Bot API at TELEGRAM_API_URL={url}"
    )
    assert "no answer within 0.5 s" in lines[-1]
    assert len(held) >= 2, "each attempt should have connected"
    assert_no_secret(output)


async def test_a_bot_api_that_comes_up_during_the_retry_window_is_used(
    tmp_path: Path, tiny_checkpoint_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prepare_workdir(tmp_path, tiny_checkpoint_path, TINY_TEXT)
    port = free_port()
    api = FakeBotApi(TEST_TOKEN, port=port)
    bot = RunningBot(settings_for_port(tmp_path, port))
    starting = asyncio.create_task(bot.start())
    try:
        while "did not answer getMe (attempt 1" not in caplog.text:
            assert not starting.done(), starting
            await asyncio.sleep(0.05)
        await api.start()
        await asyncio.wait_for(starting, 60)
        user = api.user(5001)
        await api.send_text(user, "/write البحر")
        [reply] = await api.wait_for_messages(user.chat_id, 1)
        assert (reply.raw_text or "").startswith("البحر")
    finally:
        if not starting.done():
            starting.cancel()
        await bot.stop()
        await api.stop()


def settings_for_port(workdir: Path, port: int, **overrides: Any) -> Settings:
    """The harness's settings for a server that is not running yet (its port is fixed)."""
    values: dict[str, Any] = dict(
        _env_file=None,
        bot_token=TEST_TOKEN,
        database_url=f"sqlite+aiosqlite:///{workdir / 'bot.db'}",
        checkpoint_dir=workdir / "checkpoints",
        corpus_dir=workdir / "corpora",
        corpus_path=workdir / "corpus.txt",
        telegram_api_url=f"http://127.0.0.1:{port}",
        device="cpu",
        rate_limit=False,
        startup_retry_s=30,
        startup_timeout_s=1,
    )
    return load_settings(**{**values, **overrides})


# --------------------------------------------------------------------------- the files


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A work directory another uid can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="bot-startup-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def as_bot_user(workdir: Path) -> tuple[str, ...]:
    """Run as the image's uid when root (root ignores permissions), else as ourselves."""
    if os.getuid() != 0:
        return ()
    skip_unless_readable_by(DOCKER_UID, ROOT / "bot" / "__init__.py")
    for path in [workdir, *workdir.rglob("*")]:
        os.chown(path, DOCKER_UID, DOCKER_UID)
    return ("setpriv", f"--reuid={DOCKER_UID}", f"--regid={DOCKER_UID}", "--clear-groups")


def take_away(path: Path) -> None:
    """Make ``path`` unwritable for the bot: root's (the wrong owner) when we are root, else
    read-only. Called after :func:`as_bot_user` handed the rest to the bot's uid."""
    path.chmod(0o555 if path.is_dir() else 0o444)
    if os.getuid() == 0:
        os.chown(path, 0, 0)


@pytest.mark.parametrize(
    "broken", ["database file", "database directory", "CHECKPOINT_DIR", "CORPUS_DIR"]
)
@pytest.mark.slow
async def test_an_unwritable_path_is_one_line_naming_it_and_the_fix(
    shared_dir: Path, broken: str
) -> None:
    db_dir = shared_dir / "db"
    db_dir.mkdir()
    with sqlite3.connect(db_dir / "bot.db") as conn:
        conn.execute("CREATE TABLE t (x)")
    env = bot_env(
        shared_dir,
        f"http://127.0.0.1:{free_port()}",  # never reached: the files are checked first
        DATABASE_URL=f"sqlite+aiosqlite:///{db_dir / 'bot.db'}",
    )
    for name in ("checkpoints", "corpora"):
        (shared_dir / name).mkdir()
    prefix = as_bot_user(shared_dir)
    target = {
        "database file": db_dir / "bot.db",
        "database directory": db_dir,
        "CHECKPOINT_DIR": shared_dir / "checkpoints",
        "CORPUS_DIR": shared_dir / "corpora",
    }[broken]
    if broken == "database file":
        take_away(target)
    else:
        (db_dir / "bot.db").unlink()  # a fresh start: the directory must take a new file
        take_away(target)
    code, output = await run_bot(shared_dir, env, prefix)
    assert code == 2, output
    [line] = output.splitlines()
    assert line.startswith("error: ") and f" {target} is not writable (Permission denied)" in line
    uid = DOCKER_UID if prefix else os.getuid()
    assert f"chown -R {uid} {target}" in line
    assert_no_secret(output)


@pytest.mark.skipif(
    os.getuid() != 0 or shutil.which("unshare") is None, reason="needs root to mount"
)
async def test_a_read_only_mount_says_to_mount_it_read_write(tmp_path: Path) -> None:
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    env = bot_env(
        tmp_path,
        f"http://127.0.0.1:{free_port()}",
        DATABASE_URL=f"sqlite+aiosqlite:///{db_dir / 'bot.db'}",
    )
    # A private mount namespace: the read-only tmpfs exists for this process only.
    mount = ("unshare", "-m", "sh", "-c", 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"')
    code, output = await run_bot(tmp_path, env, (*mount, str(db_dir)))
    assert code == 2, output
    [line] = output.splitlines()
    assert f"{db_dir} is not writable (Read-only file system); mount it read-write" in line


async def test_a_database_that_fails_at_start_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bot.db").write_bytes(b"this is not a SQLite database, just bytes" * 100)
    async with FakeBotApi(TEST_TOKEN) as api:
        env = bot_env(tmp_path, api.base_url.removesuffix("/bot"))
        code, output = await run_bot(tmp_path, env)
    assert code == 2, output
    [line] = output.splitlines()
    assert line.startswith("error: the database DATABASE_URL=sqlite+aiosqlite:///")
    assert "file is not a database" in line
    assert_no_secret(output)


async def test_a_database_a_newer_bot_migrated_is_one_line_and_untouched(
    tmp_path: Path,
) -> None:
    """An upgrade rolled back: the database is at a revision this bot does not have."""
    db = tmp_path / "bot.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('0099')")
    before = db.read_bytes()
    async with FakeBotApi(TEST_TOKEN) as api:
        env = bot_env(tmp_path, api.base_url.removesuffix("/bot"))
        code, output = await run_bot(tmp_path, env)
    assert code == 2, output
    [line] = output.splitlines()
    assert line == (
        f"error: the database DATABASE_URL=sqlite+aiosqlite:///{db} is at revision 0099, "
        "which this version of the bot does not know: a newer version migrated it. Run that "
        "version again, or restore the backup taken before the upgrade"
    )
    assert db.read_bytes() == before
    assert_no_secret(output)


# --------------------------------------------------------------------------- the URL


async def test_a_telegram_api_url_ending_with_bot_still_polls(
    tmp_path: Path, tiny_checkpoint_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with FakeBotApi(TEST_TOKEN) as api:
        given = api.base_url + "/"  # http://127.0.0.1:<port>/bot/
        prepare_workdir(tmp_path, tiny_checkpoint_path, TINY_TEXT)
        bot = RunningBot(settings_for_port(tmp_path, api.port, telegram_api_url=given))
        await bot.start()
        try:
            user = api.user(5002)
            await api.send_text(user, "/write البحر")
            [reply] = await api.wait_for_messages(user.chat_id, 1)
            assert (reply.raw_text or "").startswith("البحر")
        finally:
            await bot.stop()
    assert not [c for c in api.calls if c.status is not None and c.status >= 500]
    notes = [r.getMessage() for r in caplog.records if "ends with /bot" in r.getMessage()]
    assert notes == [f"TELEGRAM_API_URL ends with /bot; using http://127.0.0.1:{api.port} "
                     "(the bot adds /bot itself)"]  # fmt: skip


async def test_5xx_and_flood_control_at_start_are_retried(
    tmp_path: Path, tiny_checkpoint_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prepare_workdir(tmp_path, tiny_checkpoint_path, TINY_TEXT)
    async with FakeBotApi(TEST_TOKEN) as api:
        api.inject_error("getMe", "Internal Server Error", 500)
        api.inject_error("getMe", "Too Many Requests: retry after 1", 429, retry_after=1)
        bot = RunningBot(settings_for_port(tmp_path, api.port))
        await bot.start()
        try:
            assert [c.status for c in api.calls_to("getMe")][:3] == [500, 429, 200]
        finally:
            await bot.stop()
    attempts = [r.getMessage() for r in caplog.records if "did not answer getMe" in r.getMessage()]
    assert len(attempts) == 2
    assert "Internal Server Error" in attempts[0]
    assert "flood control: retry after 1 s" in attempts[1]


async def test_sigterm_during_the_retries_stops_at_once(tmp_path: Path) -> None:
    env = bot_env(tmp_path, f"http://127.0.0.1:{free_port()}", STARTUP_RETRY_S="600")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        first = await asyncio.wait_for(proc.stderr.readline(), 90)
        assert b"did not answer getMe (attempt 1" in first
        proc.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert rest.decode().splitlines()[-1].endswith("stopped before start-up finished")


async def test_the_containers_migrate_step_names_an_unwritable_volume_too(
    shared_dir: Path,
) -> None:
    """docker/entrypoint.sh runs ``python -m bot.ops migrate`` before the bot."""
    volume = shared_dir / "var"
    volume.mkdir()
    env = bot_env(
        shared_dir, "http://127.0.0.1:9", DATABASE_URL=f"sqlite+aiosqlite:///{volume}/bot.db"
    )
    prefix = as_bot_user(shared_dir)
    take_away(volume)  # e.g. a volume created by root before the image's user existed
    proc = await asyncio.create_subprocess_exec(
        *prefix, sys.executable, "-m", "bot.ops", "migrate", cwd=shared_dir, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    output = out.decode() + err.decode()
    assert proc.returncode == 2, output
    uid = DOCKER_UID if prefix else os.getuid()
    assert output.splitlines() == [
        f"error: the database (DATABASE_URL) {volume} is not writable (Permission denied); "
        f"make it writable by uid {uid}, e.g. `chown -R {uid} {volume}` "
        f"(the Docker image runs as uid {DOCKER_UID})"
    ]


async def test_an_unreachable_postgresql_is_one_line_with_the_password_masked(
    tmp_path: Path,
) -> None:
    url = f"postgresql+asyncpg://bot:s3cretpw@127.0.0.1:{free_port()}/bot"
    async with FakeBotApi(TEST_TOKEN) as api:
        env = bot_env(tmp_path, api.base_url.removesuffix("/bot"), DATABASE_URL=url)
        code, output = await run_bot(tmp_path, env)
    assert code == 1, output
    [line] = output.splitlines()
    assert line.startswith(
        "error: cannot reach the database DATABASE_URL=postgresql+asyncpg://bot:***@"
    )
    assert "s3cretpw" not in output
    assert_no_secret(output)


@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="TEST_POSTGRES_URL is not set")
async def test_a_postgresql_refusing_the_password_is_one_line(tmp_path: Path) -> None:
    from sqlalchemy import make_url

    url = make_url(os.environ["TEST_POSTGRES_URL"]).set(password="wrong-pw")
    async with FakeBotApi(TEST_TOKEN) as api:
        env = bot_env(
            tmp_path, api.base_url.removesuffix("/bot"),
            DATABASE_URL=url.render_as_string(hide_password=False),
        )  # fmt: skip
        code, output = await run_bot(tmp_path, env)
    assert code == 2, output
    [line] = output.splitlines()
    assert line.startswith("error: the database DATABASE_URL=postgresql+asyncpg://")
    assert "password authentication failed" in line and "wrong-pw" not in output


def without_modules(directory: Path, *names: str) -> str:
    """A PYTHONPATH entry on which importing ``names`` fails, as on an install without
    the postgres extra."""
    for name in names:
        (directory / name).mkdir(parents=True)
        (directory / name / "__init__.py").write_text(
            f"raise ImportError('No module named {name}')\n"
        )
    return str(directory)


POSTGRES_HINT = "install the postgres extra: pip install -e '.[postgres]'"


@pytest.mark.parametrize(
    ("command", "missing", "extra", "line"),
    [
        (("bot",), ("asyncpg", "pgqueuer"), {},
         f"error: DATABASE_URL is PostgreSQL but asyncpg is not installed; {POSTGRES_HINT}"),
        (("bot.ops", "migrate"), ("asyncpg", "pgqueuer"), {},
         f"error: DATABASE_URL is PostgreSQL but asyncpg is not installed; {POSTGRES_HINT}"),
        (("bot",), ("pgqueuer",), {"TRAINING": "queue"},
         f"error: TRAINING=queue needs pgqueuer, which is not installed; {POSTGRES_HINT}"),
        (("bot.trainer",), ("pgqueuer",), {},
         f"error: python -m bot.trainer needs pgqueuer; {POSTGRES_HINT}"),
    ],
    ids=["bot without asyncpg", "migrate without asyncpg", "queue without pgqueuer",
         "trainer without pgqueuer"],
)  # fmt: skip
async def test_postgresql_without_the_postgres_extra_is_one_line_naming_the_setting(
    tmp_path: Path,
    command: tuple[str, ...],
    missing: tuple[str, ...],
    extra: dict[str, str],
    line: str,
) -> None:
    shadow = without_modules(tmp_path / "shadow", *missing)
    url = f"postgresql+asyncpg://bot:s3cretpw@127.0.0.1:{free_port()}/bot"
    env = bot_env(tmp_path, "http://127.0.0.1:9", DATABASE_URL=url, **extra)
    env["PYTHONPATH"] = f"{shadow}:{env['PYTHONPATH']}"
    code, output = await run_bot(tmp_path, env, command=command)
    assert code == 2, output
    assert output.splitlines() == [line]
    assert_no_secret(output)
