"""Smoke test of the built image, as an operator would run it: ``docker run`` for real.

    PYTHONPATH=. .venv/bin/python .ci/image_smoke.py localhost/charlstm-bot:ci

The loopback Bot API server of the tests (``tests.botapi.FakeBotApi``) plays Telegram on
127.0.0.1 in this process; the containers reach it with ``--network host``. Everything runs
in one event loop, so every ``docker`` command is an asyncio subprocess: a blocking call
would stall the fake Telegram while the bot talks to it.

What it proves, in order (each check prints one ``ok`` line, the first failure prints the
container's log and exits 1):

1. no ``BOT_TOKEN``: one line naming it, exit 2;
2. first start on an empty volume: migrations, the shipped default model (in the image,
   ``data/default-model.pt``) checked and registered without training, ``/write``, ``/temp ٠٫٥`` and
   ``/stats`` answered, the generation stored exactly as sent; Docker's own HEALTHCHECK
   (the image's command, run more often) reports healthy; the token never in the log;
3. ``docker stop`` (SIGTERM): "stopped cleanly" and exit 0, within the grace period;
4. the volume and everything in it owned by the bot user (uid and gid 10001);
5. a second container on the same volume: no new training, ``/history`` shows the first
   container's generation, and it stops cleanly too;
6. with ``--compose`` (a Compose v2 CLI): the shipped docker-compose.yml with the CPU
   override and the ``postgres`` profile comes up (the database healthy first, then the
   bot), migrates PostgreSQL, answers ``/write``, stores it there, and stops cleanly.
   CI cannot pull ``postgres:16``, so .ci/compose.postgres-smoke.yml swaps in the images
   CI built and puts the bot on the host's network to reach the loopback Bot API.

Containers and the volume are named after this process and removed at the end, whatever
happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.botapi import FakeBotApi  # noqa: E402  (needs ROOT on sys.path)
from tests.botapi.objects import FakeUser  # noqa: E402

TOKEN = "123456789:SMOKEtokenSMOKEtokenSMOKEtoken4242"
ADMIN_ID = 4242
USER_ID = 5001
SEED = "البحر"
BOT_UID = "10001"
START_TIMEOUT_S = 300.0  # first start: migrations, torch import, checking the shipped model
REPLY_TIMEOUT_S = 60.0
STOP_GRACE_S = 30


class SmokeFailure(Exception):
    """A check failed; the message says which and what was seen."""


class Docker:
    """``docker`` (or ``docker compose ...``) commands as asyncio subprocesses."""

    def __init__(self, *command: str, env: dict[str, str] | None = None) -> None:
        self.command = command
        self.env = env

    async def run(self, *args: str, timeout: float = 120.0) -> tuple[int, str]:
        """Exit status and stdout+stderr together (a container's log is on both)."""
        proc = await asyncio.create_subprocess_exec(
            *self.command, *args, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise SmokeFailure(f"docker {' '.join(args[:2])} ran past {timeout:g}s") from None
        assert proc.returncode is not None
        return proc.returncode, out.decode("utf-8", "replace")

    async def ok(self, *args: str, timeout: float = 120.0) -> str:
        code, out = await self.run(*args, timeout=timeout)
        if code != 0:
            raise SmokeFailure(f"docker {' '.join(args[:2])} exited {code}: {out.strip()}")
        return out

    async def state(self, container: str) -> dict[str, object]:
        out = await self.ok("inspect", "--format", "{{json .State}}", container)
        state = json.loads(out)
        assert isinstance(state, dict)
        return state


def ok(message: str) -> None:
    print(f"image smoke: ok: {message}", flush=True)


class Smoke:
    def __init__(self, docker: Docker, image: str, api: FakeBotApi) -> None:
        self.docker = docker
        self.image = image
        self.api = api
        prefix = f"charlstm-smoke-{os.getpid()}"
        self.volume = f"{prefix}-var"
        self.containers = [f"{prefix}-1", f"{prefix}-2"]
        self.user = api.user(USER_ID, "Smoke")
        self.admin = api.user(ADMIN_ID, "Admin")
        self.current: str | None = None  # whose log to show on failure
        self.compose: Docker | None = None
        self.project_dir: Path | None = None

    def bot_env(self) -> list[str]:
        settings = {
            "BOT_TOKEN": TOKEN,
            "ADMIN_IDS": str(ADMIN_ID),
            "TELEGRAM_API_URL": f"http://127.0.0.1:{self.api.port}",
            "DEVICE": "cpu",
            # The first start serves the shipped model (checked below); should it be refused,
            # the fallback training is kept to a few steps, so the check fails in seconds
            # with the reason in the log rather than after a long training.
            "DEFAULT_TRAIN_STEPS": "5",
            "DEFAULT_LENGTH": "120",
            "RATE_LIMIT": "false",
            "LOG_LEVEL": "INFO",
        }
        return [arg for name, value in settings.items() for arg in ("-e", f"{name}={value}")]

    # -- the checks ---------------------------------------------------------------------

    async def no_token(self) -> None:
        # An anonymous volume (removed with the container): the named one stays empty.
        code, out = await self.docker.run(
            "run", "--rm", "--network", "host", "-e", "BOT_TOKEN=", self.image
        )
        lines = out.splitlines()
        if code != 2 or len(lines) != 1 or not lines[0].startswith("error: BOT_TOKEN is not set"):
            raise SmokeFailure(f"without BOT_TOKEN: exit {code}, output {lines!r}")
        ok("no BOT_TOKEN: one line naming it, exit 2")

    async def start(self, name: str) -> None:
        mark = len(self.api.calls_to("setMyCommands"))
        self.current = name
        await self.docker.ok(
            "run", "--detach", "--name", name, "--init", "--network", "host",
            "--volume", f"{self.volume}:/app/var",
            # The image's HEALTHCHECK command, run every 2 s instead of every 30 s.
            "--health-interval", "2s", "--health-start-period", "300s",
            *self.bot_env(), self.image,
        )  # fmt: skip
        await self.wait_ready(name, mark)

    async def wait_ready(self, name: str, mark: int, label: str | None = None) -> None:
        """Until the bot in container ``name`` has registered its commands (after ``mark``)."""
        began = time.monotonic()
        while len(self.api.calls_to("setMyCommands")) <= mark:
            state = await self.docker.state(name)
            if not state.get("Running"):
                raise SmokeFailure(f"{name} exited {state.get('ExitCode')} before it was ready")
            if time.monotonic() - began > START_TIMEOUT_S:
                raise SmokeFailure(f"{name} not ready after {START_TIMEOUT_S:g}s")
            await asyncio.sleep(0.5)
        ok(f"{label or name} ready in {time.monotonic() - began:.0f}s")

    async def ask(self, user: FakeUser, text: str) -> str:
        mark = self.api.mark(user.id)
        await self.api.send_text(user, text)
        [reply] = await self.api.wait_for_messages(user.id, 1, REPLY_TIMEOUT_S, since=mark)
        return reply.raw_text or reply.text or ""

    async def first_start(self) -> str:
        name = self.containers[0]
        await self.start(name)
        log = await self.logs(name)
        if "serving the shipped model" not in log or "training the default model" in log:
            raise SmokeFailure("the first start did not serve the shipped default model")
        written = await self.ask(self.user, f"/write {SEED}")
        if not written.startswith(SEED) or len(written) <= len(SEED):
            raise SmokeFailure(f"/write {SEED}: unexpected reply {written!r}")
        ok(f"/write answered ({len(written)} characters)")
        temp = await self.ask(self.user, "/temp ٠٫٥")
        if "0.5" not in temp:
            raise SmokeFailure(f"/temp ٠٫٥: unexpected reply {temp!r}")
        ok(f"/temp ٠٫٥ answered: {temp!r}")
        stats = await self.ask(self.admin, "/stats")
        if not stats.strip():
            raise SmokeFailure("/stats: empty reply")
        ok("/stats answered")
        stored = await self.query(name, "SELECT user_id, seed, output FROM generations")
        if stored != [[USER_ID, SEED, written]]:
            raise SmokeFailure(f"stored generations {stored!r}, expected the one sent")
        versions = await self.query(name, "SELECT COUNT(*) FROM model_versions")
        if versions != [[1]]:
            raise SmokeFailure(f"model versions after the first start: {versions!r}")
        ok("the generation is stored exactly as sent; one model version registered")
        await self.healthy(name)
        return written

    async def healthy(self, name: str) -> None:
        began = time.monotonic()
        while True:
            health = (await self.docker.state(name)).get("Health")
            status = health.get("Status") if isinstance(health, dict) else None
            if status == "healthy":
                ok("Docker runs the image's HEALTHCHECK: healthy")
                return
            if time.monotonic() - began > 60:
                raise SmokeFailure(f"HEALTHCHECK status {status!r} after 60s: {health!r}")
            await asyncio.sleep(1)

    async def stop(self, name: str) -> None:
        began = time.monotonic()
        await self.docker.ok("stop", "--time", str(STOP_GRACE_S), name, timeout=STOP_GRACE_S + 30)
        took = time.monotonic() - began
        state = await self.docker.state(name)
        log = await self.logs(name)
        if state.get("ExitCode") != 0 or "stopped cleanly" not in log:
            raise SmokeFailure(f"docker stop: exit {state.get('ExitCode')}, no 'stopped cleanly'")
        if took >= STOP_GRACE_S:
            raise SmokeFailure(f"docker stop took {took:.0f}s: SIGTERM was not enough")
        if TOKEN in log or TOKEN.split(":")[1] in log:
            raise SmokeFailure("the bot token appears in the container's log")
        ok(f"docker stop: 'stopped cleanly', exit 0 in {took:.1f}s; no token in the log")

    async def volume_owner(self) -> None:
        out = await self.docker.ok(
            "run", "--rm", "--volume", f"{self.volume}:/app/var", "--entrypoint", "sh",
            self.image, "-c",
            "stat -c '%u:%g' /app/var; find /app/var ! -uid 10001 -o ! -gid 10001",
        )  # fmt: skip
        lines = out.split()
        if lines != [f"{BOT_UID}:{BOT_UID}"]:
            raise SmokeFailure(f"volume ownership: {lines!r} (want only {BOT_UID}:{BOT_UID})")
        ok(f"the volume and all in it are owned by {BOT_UID}:{BOT_UID}")

    async def second_start(self, written: str) -> None:
        name = self.containers[1]
        await self.start(name)
        log = await self.logs(name)
        if "training the default model" in log:
            raise SmokeFailure("the second container trained again instead of loading the model")
        history = await self.ask(self.user, "/history")
        if SEED not in history:
            raise SmokeFailure(f"/history in the second container: {history!r}")
        stored = await self.query(name, "SELECT output FROM generations")
        if stored != [[written]]:
            raise SmokeFailure(f"generations in the second container: {stored!r}")
        ok("second container on the same volume: same model, history kept")
        await self.stop(name)

    # -- helpers ------------------------------------------------------------------------

    async def logs(self, name: str) -> str:
        return await self.docker.ok("logs", name)

    async def query(self, name: str, sql: str) -> object:
        script = (
            "import json, sqlite3, sys; "
            "c = sqlite3.connect('file:/app/var/bot.db?mode=ro', uri=True); "
            "print(json.dumps(c.execute(sys.argv[1]).fetchall(), ensure_ascii=False))"
        )
        out = await self.docker.ok("exec", name, "python", "-c", script, sql)
        return json.loads(out)

    async def cleanup(self) -> None:
        for name in self.containers:
            await self.docker.run("rm", "--force", "--volumes", name)
        await self.docker.run("volume", "rm", "--force", self.volume)
        if self.compose is not None:
            await self.compose.run("down", "--volumes", "--remove-orphans", "--timeout", "30")
        if self.project_dir is not None:
            shutil.rmtree(self.project_dir, ignore_errors=True)

    # -- Compose: the PostgreSQL profile ------------------------------------------------

    def compose_project(self, binary: str) -> Docker:
        """A copy of the shipped Compose files with a .env for this run, and its CLI."""
        self.project_dir = Path(tempfile.mkdtemp(prefix="charlstm-compose-"))
        files = ["docker-compose.yml", "docker-compose.cpu.yml"]
        for name in files:
            shutil.copy(ROOT / name, self.project_dir / name)
        shutil.copy(ROOT / ".ci" / "compose.postgres-smoke.yml", self.project_dir)
        password = f"pg{os.getpid()}secret"
        with socket.socket() as probe:  # a free loopback port to publish PostgreSQL on
            probe.bind(("127.0.0.1", 0))
            pg_port = int(probe.getsockname()[1])
        settings = {
            "BOT_TOKEN": TOKEN,
            "ADMIN_IDS": str(ADMIN_ID),
            "TELEGRAM_API_URL": f"http://127.0.0.1:{self.api.port}",
            "DATABASE_URL": f"postgresql+asyncpg://bot:{password}@127.0.0.1:{pg_port}/bot",
            "POSTGRES_PASSWORD": password,
            "DEFAULT_TRAIN_STEPS": "5",
            "DEFAULT_LENGTH": "120",
            "RATE_LIMIT": "false",
        }
        env_file = "".join(f"{name}={value}\n" for name, value in settings.items())
        (self.project_dir / ".env").write_text(env_file, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        env["CI_PG_PORT"] = str(pg_port)
        files.append("compose.postgres-smoke.yml")
        project = f"charlstm-smoke-{os.getpid()}-compose"
        options = ["-p", project, "--project-directory", str(self.project_dir)]
        options += [arg for name in files for arg in ("-f", str(self.project_dir / name))]
        return Docker(binary, *options, "--profile", "postgres", env=env)

    async def compose_postgres(self, binary: str) -> None:
        self.compose = compose = self.compose_project(binary)
        mark = len(self.api.calls_to("setMyCommands"))
        began = time.monotonic()
        # Compose starts db, waits for its healthcheck (depends_on), then starts the bot.
        await compose.ok("up", "--detach", "--no-build", timeout=START_TIMEOUT_S)
        name = (await compose.ok("ps", "--quiet", "bot")).strip()
        self.current = name
        await self.wait_ready(name, mark, label="the Compose service bot")
        took = time.monotonic() - began
        ok(f"compose --profile postgres up: db healthy, then the bot ready in {took:.0f}s")
        log = await self.logs(name)
        if "migrated: postgresql+asyncpg://bot:***@" not in log:
            raise SmokeFailure("the bot did not migrate the PostgreSQL database")
        written = await self.ask(self.user, f"/write {SEED}")
        if not written.startswith(SEED):
            raise SmokeFailure(f"/write through Compose: unexpected reply {written!r}")
        sql = "SELECT json_agg(json_build_array(user_id, seed, output)) FROM generations"
        out = await compose.ok("exec", "-T", "db", "psql", "-U", "bot", "-d", "bot", "-tAc", sql)
        if json.loads(out) != [[USER_ID, SEED, written]]:
            raise SmokeFailure(f"generations in PostgreSQL: {out.strip()!r}")
        ok("/write answered through Compose and stored in PostgreSQL")
        await self.compose_stop(compose, name)

    async def compose_stop(self, compose: Docker, name: str) -> None:
        began = time.monotonic()
        await compose.ok("stop", "bot", timeout=STOP_GRACE_S + 30)
        took = time.monotonic() - began
        state = await self.docker.state(name)
        if state.get("ExitCode") != 0 or "stopped cleanly" not in await self.logs(name):
            raise SmokeFailure(f"compose stop bot: exit {state.get('ExitCode')}")
        ok(f"compose stop bot: 'stopped cleanly', exit 0 in {took:.1f}s")

    async def run(self, compose: str | None) -> None:
        await self.no_token()
        await self.docker.ok("volume", "create", self.volume)
        written = await self.first_start()
        await self.stop(self.containers[0])
        await self.volume_owner()
        await self.second_start(written)
        if compose is not None:
            await self.compose_postgres(compose)


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke test of the built image.")
    parser.add_argument("image")
    parser.add_argument("--docker", default="docker", help="the docker CLI to use")
    parser.add_argument("--compose", help="a Compose v2 CLI: also run the PostgreSQL profile")
    args = parser.parse_args(argv)
    async with FakeBotApi(TOKEN) as api:
        smoke = Smoke(Docker(args.docker), args.image, api)
        try:
            await smoke.run(args.compose)
        except (SmokeFailure, TimeoutError) as exc:
            print(f"image smoke: FAILED: {exc}", file=sys.stderr)
            if smoke.current is not None:
                _, log = await smoke.docker.run("logs", "--tail", "40", smoke.current)
                print(f"--- last lines of {smoke.current}'s log:\n{log}", file=sys.stderr)
            return 1
        finally:
            await smoke.cleanup()
    print("image smoke: passed")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
