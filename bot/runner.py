"""Running the application: start-up, polling, and an orderly stop on a signal.

PTB's ``run_polling`` owns the event loop; this does the same steps on a loop we own, so
tests can run the real bot in-process and SIGTERM can drain work before closing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import InvalidToken

from bot.app import AppType, build_application, on_shutdown, on_startup
from bot.handlers.buttons import deliver
from bot.ops.operability import Operability
from bot.ops.startup import (
    TOKEN_REJECTED,
    StartupCancelled,
    StartupError,
    check_database_reachable,
    check_writable_paths,
    database_error,
    wait_for_bot_api,
)
from bot.settings import crash
from bot.settings.config import Settings
from bot.settings.redact import register_secret
from bot.storage import NewerDatabaseError
from bot.storage.queries.inbox import InboxQueries, StoredReply
from bot.telegram.display import printable
from bot.telegram.inbox import Inbox
from bot.telegram.polling import Poller
from bot.telegram.services import KEY, Services
from bot.telegram.webhook_server import WebhookServer
from model.gc_policy import freeze_start_up_objects

log = logging.getLogger(__name__)


class RunningBot:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        register_secret(settings.token)  # for every text this process writes or sends
        self.application: AppType = build_application(settings)
        self.inbox: Inbox | None = None
        self.webhook: WebhookServer | None = None
        self.poller: Poller | None = None
        # probes, metrics and alerts: started first, stopped last
        self.ops = Operability(self.application, settings)

    async def start(self, stop: asyncio.Event | None = None) -> None:
        """Check, connect, load; a failure is a StartupError (one line), see bot/ops/startup.py.

        ``stop`` set while the Bot API is being waited for ends the wait with
        StartupCancelled.
        """
        await self.ops.start()  # first: /readyz answers 503 until the bot serves
        try:
            await self._start(stop)
        except BaseException:
            await self.ops.stop()
            # getMe opened the Bot API client's connections before the application was
            # initialised, so no application shutdown closes them (idempotent after one)
            await self.application.bot.request.shutdown()
            raise
        self.ops.serving()

    async def _start(self, stop: asyncio.Event | None) -> None:
        app = self.application
        s = self.settings
        if s.telegram_api_root != s.telegram_api_url:
            log.info("TELEGRAM_API_URL ends with /bot; using %s (the bot adds /bot itself)",
                     s.telegram_api_root)  # fmt: skip
        check_writable_paths(s)
        await check_database_reachable(s.database_url, s.startup_timeout_s)
        await wait_for_bot_api(app.bot, s, stop)
        try:
            await app.initialize()
        except InvalidToken:  # revoked between the check and now
            raise StartupError(TOKEN_REJECTED) from None
        try:
            await on_startup(app)
        except BaseException as exc:
            await app.shutdown()
            if isinstance(exc, NewerDatabaseError):
                raise StartupError(str(exc)) from None
            if isinstance(exc, SQLAlchemyError):
                raise database_error(s.database_url, exc) from None
            raise
        await app.start()
        services: Services = app.bot_data[KEY]
        self.inbox = Inbox(
            app,
            InboxQueries(services.storage.session_maker),
            slots=s.max_concurrent_updates,
            redeliver=functools.partial(_redeliver, services),
            lease_s=s.inbox_lease_s,
        )
        # polling: this is the only process reading updates, so open claims are a dead
        # predecessor's; webhook replicas wait for each other's leases to run out.
        await self.inbox.start(sole_reader=not s.webhook_url)
        if s.webhook_url:
            self.webhook = WebhookServer(
                listen=s.webhook_listen,
                port=s.webhook_port,
                path=s.webhook_path,
                secret=s.webhook_secret.get_secret_value(),
                record=self.inbox.record,
                extra_routes=self.ops.routes(),  # /healthz, /readyz, /metrics
                cert=s.webhook_cert,
                key=s.webhook_key,
            )
            await self.webhook.start()
            await self._set_webhook()
            log.info("serving updates by webhook on %s:%d", s.webhook_listen, s.webhook_port)
        else:
            self.poller = Poller(app.bot, self.inbox.record)
            await self.poller.start()
            log.info("polling for updates")

    async def _set_webhook(self) -> None:
        s = self.settings
        certificate = s.webhook_cert.read_bytes() if s.webhook_cert is not None else None
        await self.application.bot.set_webhook(
            url=s.webhook_url,
            certificate=certificate,
            allowed_updates=Update.ALL_TYPES,
            secret_token=s.webhook_secret.get_secret_value() or None,
        )

    async def stop(self) -> None:
        app = self.application
        self.ops.drain()  # not ready first, so a balancer stops sending updates
        # no new updates from here on; then the ones being handled finish
        if self.poller is not None:
            await self.poller.stop()
            self.poller = None
        if self.webhook is not None:
            await self.webhook.stop()
            self.webhook = None
        if self.inbox is not None:
            await self.inbox.stop(self.settings.shutdown_grace_s)
            self.inbox = None
        if app.running:
            await app.stop()  # waits for handlers already running
        await on_shutdown(app)
        await self.ops.stop()  # the error counts not yet told go out while the bot can
        await app.shutdown()


async def _redeliver(services: Services, update: Update, reply: StoredReply) -> None:
    """Send a text a stopped process stored for ``update`` but never delivered."""
    await deliver(update, services, reply.generation_id, printable(reply.output))


async def serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    crash.install_on_loop(loop)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bot = RunningBot(settings)
    try:
        await bot.start(stop)
    except StartupCancelled:
        log.info("stopped before start-up finished")
        return
    freeze_start_up_objects()  # the model, the modules: never scanned again
    log.info("running; stop with Ctrl+C or SIGTERM")
    try:
        await stop.wait()
    finally:
        log.info("stopping: finishing the requests in progress")
        await bot.stop()
