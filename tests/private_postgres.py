"""A PostgreSQL server of the test's own, started with ``pg_ctl`` in a temporary directory.

Tests that restart or stop the database must not do it to the shared server of
``TEST_POSTGRES_URL`` (other tests, and other people's, use it at the same time), so
they get a private cluster: ``initdb`` into a temporary directory, a free port on
loopback, trust authentication. As root the server runs as the ``postgres`` user
(PostgreSQL refuses to run as root). Skipped where no PostgreSQL binaries are installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _version_key(path: str) -> int:
    part = path.split("/")[4]
    return int(part) if part.isdigit() else 0


BINDIR = _bindir()
_RUN_AS = "postgres" if os.geteuid() == 0 else None
needs_private_postgres = pytest.mark.skipif(
    BINDIR is None,
    reason="PostgreSQL's server binaries (pg_ctl, initdb) are not installed",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """One server: ``url`` for SQLAlchemy, ``restart()`` / ``stop()`` / ``start()``."""

    def __init__(self, root: Path) -> None:
        assert BINDIR is not None
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        assert BINDIR is not None
        command = [str(BINDIR / args[0]), *args[1:]]
        if _RUN_AS is not None:
            command = ["runuser", "-u", _RUN_AS, "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root)

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if _RUN_AS is not None:
            user = pwd.getpwnam(_RUN_AS)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        options = [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.root}'",
            "fsync = off",  # a test's data need not survive a power cut
            "max_connections = 200",
        ]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(options) + "\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        # "fast": every session is ended at once, as a restart or failover does.
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-m", "fast",
                  "-w", "restart")  # fmt: skip

    async def arestart(self) -> None:
        await asyncio.to_thread(self.restart)


@asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    """A running private server, stopped and deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="pg-private-"))
    server = PrivatePostgres(root)
    try:
        await asyncio.to_thread(server.init)
        await asyncio.to_thread(server.start)
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            await asyncio.to_thread(server.stop)
        shutil.rmtree(root, ignore_errors=True)
