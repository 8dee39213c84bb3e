"""``GET /healthz``, ``GET /readyz`` and ``GET /metrics`` over HTTP, for the operator.

* ``/healthz``: 200 whenever the process's event loop answers at all (a liveness probe:
  a wedged loop answers nothing and gets restarted);
* ``/readyz``: 200 while the process can do its work, else 503 with one line per reason:
  for a bot, the database reachable and at the migration head, a model loaded and the
  engine serving, and not draining for a stop; for a trainer, the database. A stopping
  process turns not-ready first, before it stops taking work;
* ``/metrics``: Prometheus's text format, from :mod:`prometheus_client`'s default
  registry (what :mod:`bot.metrics` counts and the library's process metrics).

:func:`routes` is the route set as aiohttp route definitions, so any aiohttp server can
mount it (the webhook server does, next to the webhook path); :class:`HealthServer`
serves it on a port of its own (``HEALTH_LISTEN:HEALTH_PORT``, 127.0.0.1 by default:
these are for the operator's network, never the public one). Both the bot
(bot/ops/operability.py) and a trainer (bot/trainer/__main__.py) use them, each with its
own idea of readiness.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot import metrics

log = logging.getLogger(__name__)

# A readiness check that takes longer than this is itself the answer: not ready.
READY_TIMEOUT_S = 5.0

# What is wrong, one line per reason; empty: ready.
Problems = Callable[[], Awaitable[list[str]]]


def routes(problems: Problems) -> list[web.RouteDef]:
    """The three routes, with ``problems`` deciding readiness."""

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(request: web.Request) -> web.Response:
        try:
            found = await asyncio.wait_for(problems(), READY_TIMEOUT_S)
        except TimeoutError:
            found = [f"the readiness checks took over {READY_TIMEOUT_S:g} s"]
        except Exception as exc:  # a check that fails is a reason, never a 500
            found = [f"a readiness check failed: {type(exc).__name__}"]
        metrics.READY.set(0 if found else 1)
        if found:
            return web.Response(status=503, text="not ready: " + "; ".join(found) + "\n")
        return web.Response(text="ready\n")

    async def metrics_page(request: web.Request) -> web.Response:
        # Rendering reads every collector (the engine's too): off the loop it would only
        # add a thread hop for a few kilobytes, so it stays here.
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get("/metrics", metrics_page),
    ]


class HealthServer:
    """The routes on a port of their own (polling mode, and trainers)."""

    def __init__(self, problems: Problems, listen: str, port: int) -> None:
        self.problems = problems
        self.listen = listen
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.add_routes(routes(self.problems))
        # access_log=None: a probe every few seconds is not worth a log line each.
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.listen, self.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("health and metrics on http://%s:%d/ (healthz, readyz, metrics)",
                 self.listen, self.port)  # fmt: skip

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
