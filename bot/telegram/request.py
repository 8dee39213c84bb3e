"""The HTTP layer to the Bot API, with the token's secret removed from what the bot sends.

Message text, captions, button labels and every other parameter pass through
:func:`bot.settings.redact.redact` just before they are encoded, so no message to a user or an
admin can carry the token, whatever produced its text (an exception message quoting a
URL, a training log, a seed someone pasted). Only the parameters are touched: the URL
must keep the token, it is how Telegram knows the bot. Files (documents, photos) are
sent as they are. Every call is counted for the metrics, by method and result.

The client underneath is aiohttp, not PTB's httpx. Why: in a burst the event loop is the
bot's bottleneck, and half of its time went to httpx's connection pool. For every
request httpcore walks the whole queue and every pooled connection, asking each socket
whether it has expired (a ``getpeername`` and a ``select`` per connection): the cost of
one request grows with the number in flight. In a 200-user burst that was 45 % of the
loop. aiohttp's connector hands out a free
connection in constant time.

What the rest of the bot reads from a failure is kept: PTB's ``TimedOut`` and
``NetworkError``, with a ``__cause__`` that says whether the request can have reached
Telegram. :class:`NeverLeft` (its subclasses: no free connection within the pool
timeout, no connection within the connect timeout, the connection refused) means it did
not, so a retry cannot send a message twice; anything else (a read timeout, a connection
reset mid-request) may hide a delivery.

Timeouts: ``pool`` (waiting for one of the ``connection_pool_size`` connections),
``connect``, and ``read`` (between two reads of the answer), as in httpx; a request's
whole exchange is also bounded by connect + write + read, standing in for httpx's write
timeout, which aiohttp does not have.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import ssl
import urllib.parse
import urllib.request
from typing import Any, cast

import aiohttp
import certifi
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot import metrics
from bot.settings.redact import redact
from bot.telegram.inbox import REPLY_MARK


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The CA bundle httpx used (certifi), not whatever the host happens to have; one
    context per process, shared by every client: reading the bundle costs ~25 ms of CPU,
    and a bot has two clients (a test run starts hundreds of bots in-process)."""
    return ssl.create_default_context(cafile=certifi.where())


# PTB's own defaults for HTTPXRequest (seconds), so behaviour does not change with the
# library underneath.
READ_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 5.0
POOL_TIMEOUT_S = 1.0
MEDIA_WRITE_TIMEOUT_S = 20.0  # uploads (documents, photos) take longer to write


class NeverLeft(Exception):
    """The request did not reach Telegram: retrying it cannot deliver anything twice."""


class PoolTimedOut(NeverLeft):
    """No free connection within the pool timeout."""


class ConnectTimedOut(NeverLeft):
    """No connection to the Bot API within the connect timeout."""


class ConnectFailed(NeverLeft):
    """The connection was refused (or the host could not be resolved)."""


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class AiohttpRequest(BaseRequest):
    """A :class:`telegram.request.BaseRequest` on one :class:`aiohttp.ClientSession`."""

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool",
        "_pool_size",
        "_pool_timeout",
        "_proxies",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 1,
        read_timeout: float | None = READ_TIMEOUT_S,
        write_timeout: float | None = WRITE_TIMEOUT_S,
        connect_timeout: float | None = CONNECT_TIMEOUT_S,
        pool_timeout: float | None = POOL_TIMEOUT_S,
        media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT_S,
    ) -> None:
        self._pool_size = max(1, connection_pool_size)
        # the pool is waited for here, so that its timeout is told apart from connect's
        self._pool = asyncio.Semaphore(self._pool_size)
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size,
                limit_per_host=0,
                ssl=tls_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # not trust_env: it reads the proxy settings and ~/.netrc again for every
                # request (a third of a burst's time); _proxy_for reads them once per host
                headers={"User-Agent": self.USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None),
                # the answer's status is PTB's to judge (it reads 4xx and 5xx bodies)
                raise_for_status=False,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()  # kept, closed: a late request fails, as with httpx

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:  # usable before initialize(), as PTB's httpx layer is
            await self.initialize()
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is shut down")
        files = request_data.multipart_data if request_data else None
        read = _given(read_timeout, self._read_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        write = _given(write_timeout, self._media_write_timeout if files else self._write_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        body = self._body(request_data)
        try:
            async with asyncio.timeout(pool):
                await self._pool.acquire()
        except TimeoutError:
            raise TimedOut(
                "Pool timeout: all connections to the Bot API are in use; the request was not sent"
            ) from PoolTimedOut()
        try:
            whole = None if None in (read, write, connect) else read + write + connect  # type: ignore[operator]
            async with asyncio.timeout(whole):
                async with session.request(
                    method,
                    url,
                    data=body,
                    proxy=self._proxy_for(url),
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read),
                ) as response:
                    return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as err:
            raise TimedOut("Timed out connecting to the Bot API") from ConnectTimedOut(str(err))
        except aiohttp.ClientConnectorError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from ConnectFailed(str(err))
        except (TimeoutError, aiohttp.ServerTimeoutError) as err:
            raise TimedOut from err  # sent, no answer in time: it may have arrived
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
        finally:
            self._pool.release()

    def _proxy_for(self, url: str) -> str | None:
        """The proxy HTTP(S)_PROXY names for ``url``'s host unless NO_PROXY exempts it, as
        httpx read them; looked up once per scheme and host."""
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            proxies = urllib.request.getproxies()
            exempt = bool(key[1]) and urllib.request.proxy_bypass(key[1])
            self._proxies[key] = None if exempt else proxies.get(key[0])
        return self._proxies[key]

    @staticmethod
    def _body(request_data: RequestData | None) -> Any:
        """A form, urlencoded without files and multipart with them, as PTB's own layer
        sends it."""
        if request_data is None:
            return None
        fields = request_data.json_parameters
        files = request_data.multipart_data
        if not files:
            return fields or None
        form = aiohttp.FormData()
        for name, value in fields.items():
            form.add_field(name, value)
        for name, (filename, content, mimetype) in files.items():
            if not isinstance(content, bytes | bytearray):
                with contextlib.suppress(AttributeError, OSError):
                    content = content.read()
            form.add_field(name, content, filename=filename, content_type=mimetype)
        return form


# Methods that put a message in a chat (not sendChatAction: "typing…" is no answer).
_SENDS_MESSAGE = re.compile(r"send(?!ChatAction)\w+|copyMessages?|forwardMessages?")


class _RedactedData:
    """The two views of a RequestData that the request encodes, with parameters redacted."""

    def __init__(self, data: RequestData) -> None:
        self.multipart_data = data.multipart_data
        self.json_parameters = {k: redact(v) for k, v in data.json_parameters.items()}
        self.contains_files = data.contains_files

    def __bool__(self) -> bool:
        return True


class RedactingRequest(AiohttpRequest):
    """:class:`AiohttpRequest` whose request parameters never contain the token's secret."""

    __slots__ = ()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        data: Any = None if request_data is None else _RedactedData(request_data)
        # Counted by method and result; the method is the URL's last part (the token
        # before it never reaches a label).
        calls = metrics.BOT_API_CALLS
        endpoint = metrics.method_label(url.rsplit("/", 1)[-1])
        # A message answering an inbox update: its mark is committed before it leaves,
        # after any pacing, so the window in which a kill loses it stays in-process.
        mark = REPLY_MARK.get() if _SENDS_MESSAGE.fullmatch(endpoint) else None
        if mark is not None:
            await mark.before_send()
        try:
            status, payload = await super().do_request(
                url,
                method,
                cast(RequestData | None, data),
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except Exception as exc:
            calls.labels(endpoint, metrics.result_label(None)).inc()
            if mark is not None:
                await mark.after_send(refused=isinstance(exc.__cause__, NeverLeft))
            raise
        calls.labels(endpoint, metrics.result_label(status)).inc()
        if mark is not None:  # 4xx: Telegram refused it; 5xx may hide a delivery
            await mark.after_send(refused=400 <= status < 500)
        return status, payload
