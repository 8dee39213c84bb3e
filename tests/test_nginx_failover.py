"""nginx with the shipped docker/nginx/nginx.conf.template routes around a dead replica and
takes it back the moment it answers again: no window of 502s, no lopsided split after an
outage.

nginx is the real one with the shipped file (tests/cluster.py renders it and replaces only
its "test:" lines, keeping the shipped server parameters). The replicas are two small HTTP servers
that answer every POST with 200: what is under test is nginx's choice of upstream, which
depends only on whether a port accepts connections, and a real bot replica takes tens of
seconds to start on 2 cores (tests/test_cluster_e2e.py runs real ones).
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.cluster import NGINX, free_port, nginx_config, wait_until

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (bash .ci/nginx.sh)")

BURST = 40


class Replica:
    """An HTTP server on a fixed port that can be stopped and started again."""

    def __init__(self, name: str, hits: Counter[str]) -> None:
        self.name = name
        self.port = free_port()
        self.hits = hits
        self.runner: web.AppRunner | None = None

    async def _answer(self, request: web.Request) -> web.Response:
        await request.read()
        self.hits[self.name] += 1
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._answer)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()  # closes the listener and every connection
            self.runner = None


@asynccontextmanager
async def behind_nginx(workdir: Path, replicas: list[Replica]) -> AsyncIterator[str]:
    assert NGINX is not None
    (workdir / "nginx").mkdir(exist_ok=True)
    port = free_port()
    config = nginx_config(workdir, port, [r.port for r in replicas])
    nginx = await asyncio.create_subprocess_exec(
        NGINX, "-p", str(workdir / "nginx"), "-c", str(config),
        "-g", f"daemon off; pid {workdir / 'nginx.pid'};",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/tg"
    try:
        async with aiohttp.ClientSession() as session:

            async def listening() -> bool:
                try:
                    async with session.post(url, data=b"{}") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_until(listening, 30, "nginx listening")
        yield url
    finally:
        if nginx.returncode is None:
            nginx.send_signal(signal.SIGQUIT)
        await nginx.wait()


async def burst(url: str, count: int = BURST) -> Counter[int]:
    """``count`` webhook POSTs at once, as Telegram sends them; status -> how many."""
    async with aiohttp.ClientSession() as session:

        async def post(i: int) -> int:
            async with session.post(url, json={"update_id": i}) as response:
                await response.read()
                return response.status

        return Counter(await asyncio.gather(*(post(i) for i in range(count))))


async def test_nginx_routes_around_a_dead_replica_and_takes_it_back_at_once(
    tmp_path: Path,
) -> None:
    hits: Counter[str] = Counter()
    a, b = Replica("a", hits), Replica("b", hits)
    await a.start()
    await b.start()
    try:
        async with behind_nginx(tmp_path, [a, b]) as url:
            assert await burst(url) == Counter({200: BURST})

            # A dies: every POST still lands, on B.
            await a.stop()
            hits.clear()
            assert await burst(url) == Counter({200: BURST})
            assert hits == Counter({"b": BURST})

            # A answers again: the very next burst is shared, not kept from it for a
            # fail_timeout.
            await a.start()
            hits.clear()
            assert await burst(url) == Counter({200: BURST})
            assert hits["a"] >= BURST // 4, hits

            # Both die (a database outage, a redeploy): Telegram's POSTs fail meanwhile...
            await a.stop()
            await b.stop()
            assert 200 not in await burst(url, 6)
            # ...and the moment they answer, every POST is taken, by both.
            await a.start()
            await b.start()
            hits.clear()
            assert await burst(url) == Counter({200: BURST})
            assert min(hits["a"], hits["b"]) >= BURST // 4, hits
    finally:
        await a.stop()
        await b.stop()
