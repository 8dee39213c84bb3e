"""What one running bot offers its operator: probes, metrics, and alerts to the admins.

:class:`Operability` is started first and stopped last by the runner (bot/runner.py):

* its health server (bot/metrics/http.py) listens before anything else starts, so a probe
  sees ``/readyz`` 503 all through the start-up (database, model, Bot API);
* its :meth:`routes` are also mounted on the webhook server, next to the webhook path;
* :meth:`drain` is the first step of a stop: ``/readyz`` turns 503 before updates stop
  being taken, so a balancer or an orchestrator sends no more;
* unexpected errors reach the admins from the start-up on (bot/ops/alerts.py), and the
  counts not yet told are sent at the stop.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from telegram.ext import Application

from bot import metrics
from bot.metrics.http import HealthServer, routes
from bot.ops import alerts
from bot.ops.startup import StartupError
from bot.settings.config import Settings
from bot.storage.database import schema_problems
from bot.telegram.services import KEY, Services

log = logging.getLogger(__name__)


class Operability:
    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], settings: Settings):
        self.application = application
        self.settings = settings
        self.draining = False
        self.health: HealthServer | None = None
        self.alerts: alerts.AdminAlerts | None = None

    async def problems(self) -> list[str]:
        """Why this bot is not ready (``/readyz``); empty when it is."""
        if self.draining:
            return ["stopping"]
        services = self.application.bot_data.get(KEY)
        if not isinstance(services, Services) or not self.application.running:
            return ["starting: no model loaded yet"]
        if not services.engine.running:
            return ["the generation engine is not serving"]
        engine = services.storage.session_maker.kw["bind"]
        return await schema_problems(engine, self.settings.database_url)

    def routes(self) -> list[web.RouteDef]:
        """``/healthz``, ``/readyz`` and ``/metrics``, for the webhook server to mount."""
        return routes(self.problems)

    async def start(self) -> None:
        """Listen on HEALTH_PORT (unless 0) and tell the admins about errors from now on."""
        metrics.READY.set(0)
        s = self.settings
        if s.health_port:
            server = HealthServer(self.problems, s.health_listen, s.health_port)
            try:
                await server.start()
            except OSError as exc:
                raise StartupError(
                    f"HEALTH_PORT {s.health_port} on {s.health_listen} cannot be listened on "
                    f"({exc.strerror or type(exc).__name__}); choose another, or 0 for none"
                ) from None
            self.health = server
        self.alerts = alerts.AdminAlerts(self.application.bot, s.admin_ids, s.alert_interval_s)
        alerts.install(self.alerts)

    def serving(self) -> None:
        metrics.READY.set(1)

    def drain(self) -> None:
        """Not ready from now on (the first step of a stop)."""
        self.draining = True
        metrics.READY.set(0)

    async def stop(self) -> None:
        if self.alerts is not None:
            await alerts.uninstall(self.alerts)
            self.alerts = None
        if self.health is not None:
            await self.health.stop()
            self.health = None
