"""Real ``python -m bot`` replicas behind the repository's nginx config, on PostgreSQL:
used by tests/test_cluster_e2e.py and ``python -m benchmarks.bot_load
replicas``.

The loopback Bot API server plays Telegram: after the replicas' setWebhook it POSTs every
update to nginx with the secret header (retrying on non-2xx like Telegram), and nginx,
running docker/nginx/nginx.conf.template rendered for the replicas' WEBHOOK_URL with only
its "test:" lines replaced, spreads them over the replicas; its access log says which
replica took each update.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import string
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, text

from bot.storage import Storage
from bot.storage.schema import GenerationRow
from tests.botapi import FakeBotApi
from tests.harness import process_env
from tests.processes import Process, start_module, stop

ROOT = Path(__file__).resolve().parents[1]
NGINX_DIR = ROOT / "docker" / "nginx"
ENVSH = "19-webhook-path.envsh"  # derives WEBHOOK_PATH from WEBHOOK_URL in the image
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
SECRET = "cluster_Secret-42"
# The path of the replicas' WEBHOOK_URL: the one path nginx passes.
WEBHOOK_PATH = "/tg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def webhook_path(webhook_url: str) -> str:
    """WEBHOOK_PATH as the nginx image's entrypoint gets it: the shipped script, sourced."""
    done = subprocess.run(
        ["sh", "-c", '. "$0" && printf %s "$WEBHOOK_PATH"', str(NGINX_DIR / ENVSH)],
        env={"PATH": os.environ.get("PATH", ""), "WEBHOOK_URL": webhook_url},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def nginx_config(
    workdir: Path, port: int, replica_ports: list[int], webhook_url: str | None = None
) -> Path:
    """docker/nginx/nginx.conf.template rendered as the nginx image renders it (envsubst of
    WEBHOOK_PATH alone, from ``webhook_url``), with only its "test:" lines replaced."""
    url = webhook_url or f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    template = (NGINX_DIR / "nginx.conf.template").read_text()
    shipped = string.Template(template).safe_substitute(WEBHOOK_PATH=webhook_path(url))
    # The shipped server parameters (max_fails, ...) are kept: they are under test too.
    shipped_server = re.search(r"^\s*server \S+([^;]*);.*# test: replicas$", shipped, re.M)
    parameters = shipped_server.group(1) if shipped_server else ""
    servers = "\n".join(f"        server 127.0.0.1:{p}{parameters};" for p in replica_ports)
    replaced = {
        "replicas": servers,
        "listen": f"        listen 127.0.0.1:{port};",
        "access log": f"    access_log {workdir / 'access.log'} webhook;",
    }
    lines = []
    for line in shipped.splitlines():
        marker = re.search(r"# test: (.+)$", line)
        lines.append(replaced[marker.group(1)] if marker else line)
    config = workdir / "nginx.conf"
    config.write_text("\n".join(lines) + "\n")
    return config


def upstreams(workdir: Path) -> Counter[str]:
    """How many webhook POSTs each replica answered with 200, from nginx's access log."""
    log = workdir / "access.log"
    return Counter(re.findall(r"upstream=(\S+) 200 ", log.read_text() if log.exists() else ""))


@dataclass
class Replica:
    name: str
    port: int
    log: Path
    proc: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tg"

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    api: FakeBotApi
    workdir: Path
    database_url: str
    replicas: list[Replica] = field(default_factory=list)

    async def replica_versions(self) -> dict[int, int | None]:
        """pid -> the version each replica's heartbeat row says it serves."""
        storage = await Storage.open(self.database_url, migrate=False)
        try:
            async with storage.session_maker() as session:
                # bot replicas only: trainers write heartbeat rows too
                query = "SELECT pid, model_version_id FROM replicas WHERE role = 'bot'"
                rows = await session.execute(text(query))
                return {int(pid): version for pid, version in rows.all()}
        finally:
            await storage.close()

    async def generations(self) -> dict[int, str]:
        """user id -> the output of their (last) stored generation."""
        storage = await Storage.open(self.database_url, migrate=False)
        try:
            async with storage.session_maker() as session:
                rows = await session.execute(select(GenerationRow.user_id, GenerationRow.output))
                return {int(user): output for user, output in rows.all()}
        finally:
            await storage.close()

    async def scalar(self, query: str) -> object:
        """One value read from the shared database (e.g. a count at the end of a test)."""
        storage = await Storage.open(self.database_url, migrate=False)
        try:
            async with storage.session_maker() as session:
                return await session.scalar(text(query))
        finally:
            await storage.close()


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


@asynccontextmanager
async def running_cluster(
    workdir: Path,
    api: FakeBotApi,
    database_url: str,
    replicas: int = 2,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Cluster]:
    """``replicas`` bot processes started at once, behind nginx, until the block ends.

    ``workdir`` holds what tests.harness.prepare_workdir puts there; its checkpoint
    directory is shared by the replicas (one host, one volume).
    """
    assert NGINX is not None, "nginx is not installed (bash .ci/nginx.sh)"
    (workdir / "nginx").mkdir(exist_ok=True)
    proxy_port = free_port()
    names = [chr(ord("a") + i) for i in range(replicas)]
    members = [Replica(n, free_port(), workdir / f"replica-{n}.log") for n in names]
    config = nginx_config(workdir, proxy_port, [r.port for r in members])
    nginx = await asyncio.create_subprocess_exec(
        NGINX, "-p", str(workdir / "nginx"), "-c", str(config),
        "-g", f"daemon off; pid {workdir / 'nginx.pid'};",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    common = {
        **os.environ,
        **process_env(
            api,
            workdir,
            PYTHONPATH=str(ROOT),
            DATABASE_URL=database_url,
            WEBHOOK_URL=f"http://127.0.0.1:{proxy_port}{WEBHOOK_PATH}",
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_LISTEN="127.0.0.1",
            LOG_LEVEL="INFO",
        ),
        **(env or {}),
    }
    try:
        for replica in members:  # all at once, as `docker compose up --scale` does
            with replica.log.open("wb") as log:
                replica.proc = await start_module(
                    "bot", cwd=workdir, env={**common, "WEBHOOK_PORT": str(replica.port)},
                    stdout=log, stderr=log,
                )  # fmt: skip

        async def ready() -> bool:
            for replica in members:
                assert replica.proc is not None
                if replica.proc.returncode is not None:
                    raise AssertionError(f"replica {replica.name} exited:\n{replica.text()}")
            return all("running; stop with" in r.text() for r in members)

        await wait_until(ready, 180, "every replica ready")
        yield Cluster(api, workdir, database_url, members)
    finally:
        for replica in members:
            if replica.proc is not None:
                await stop(replica.proc)
        await stop(nginx, signal.SIGQUIT, 10)
