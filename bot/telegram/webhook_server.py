"""The webhook endpoint: answers Telegram's POST with 200 only once the update is recorded.

PTB's built-in webhook server answers as soon as an update is queued in memory, so a
process killed a moment later loses updates Telegram believes delivered. This is PTB's
"custom webhook" pattern instead: a small aiohttp server on the bot's own event loop
(``web.AppRunner`` and ``web.TCPSite``) that writes the update to the inbox
(bot/telegram/inbox.py) and only then answers 200. Anything else makes Telegram retry:
a wrong or missing secret token is 403 (as PTB answered), a body that is not an update
is 400, and a database that cannot record it is 503.

Other routes (health, readiness, metrics) are added by passing aiohttp route
definitions as ``extra_routes``, e.g. ``[web.get("/healthz", handler)]``: they are
served on the same port, next to the webhook path.
"""

from __future__ import annotations

import hmac
import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1 << 20  # updates are small; Telegram's own limit for a POST is far lower

Record = Callable[[list[Mapping[str, Any]]], Awaitable[Any]]


class WebhookServer:
    """POST ``path`` records updates through ``record``; ``extra_routes`` are served too."""

    def __init__(
        self,
        *,
        listen: str,
        port: int,
        path: str,
        secret: str,
        record: Record,
        cert: Path | None = None,
        key: Path | None = None,
        extra_routes: Iterable[web.AbstractRouteDef] = (),
    ) -> None:
        self._listen, self._port = listen, port
        self._path = "/" + path.lstrip("/")  # settings give it without the leading slash
        self._secret = secret
        self._record = record
        self._cert, self._key = cert, key
        self._routes: list[web.AbstractRouteDef] = list(extra_routes)
        self._runner: web.AppRunner | None = None

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """More routes to serve; call before :meth:`start`."""
        self._routes.extend(routes)

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.add_routes([web.post(self._path, self._receive), *self._routes])
        # access logs would name every POST: the bot's own logs say what matters.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._listen, self._port, ssl_context=self._tls())
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _tls(self) -> ssl.SSLContext | None:
        if self._cert is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._cert, self._key)
        return context

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if self._secret and not hmac.compare_digest(given.encode(), self._secret.encode()):
            log.debug("webhook: a request with a wrong or missing secret token refused")
            return web.Response(status=403)
        try:
            update = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="not JSON")
        if not isinstance(update, dict) or not _is_update_id(update.get("update_id")):
            return web.Response(status=400, text="not an update")
        try:
            await self._record([update])
        except Exception as exc:  # Telegram retries a non-2xx answer: nothing is lost
            log.warning("webhook: could not record update %s: %s", update["update_id"], exc)
            return web.Response(status=503)
        return web.Response(status=200)


def _is_update_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
