"""A fake Telegram Bot API server that python-telegram-bot talks to over real HTTP.

Point a bot at it with ``ApplicationBuilder().base_url(api.base_url)
.base_file_url(api.base_file_url)``; tests then act as Telegram users through the helpers
(:meth:`FakeBotApi.send_text`, :meth:`FakeBotApi.press_button`, ...) and inspect what the bot
did through :attr:`FakeBotApi.calls` and the :class:`SentMessage` records.

Where Telegram rejects a request, the fake returns Telegram's status code and description, so
the bot sees the same ``telegram.error`` exceptions it would see in production.

This module is the server itself: it starts and stops, routes each request to its Bot API
method (after the injected delays, errors and flood control) and serves file downloads.
:class:`FakeBotApi` joins the parts, each a mixin over the shared state (state.py): the
methods per family (updates.py, messages.py, files.py, callbacks.py), fault injection
(injection.py), the user side (users.py) and inspection and waiting (inspection.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

from .callbacks import CallbackMethods
from .files import FileMethods
from .injection import FaultInjection
from .inspection import Inspection
from .params import Params, read_params
from .records import MAX_UPLOAD_BYTES, ApiCall, ApiError
from .state import ApiState
from .updates import UpdateMethods
from .users import UserActions


class FakeBotApi(
    Inspection,
    UserActions,
    FaultInjection,
    UpdateMethods,
    FileMethods,
    CallbackMethods,
    ApiState,
):
    """An in-process Bot API server on 127.0.0.1 plus helpers to act as Telegram users."""

    @functools.cached_property
    def _methods(self) -> dict[str, tuple[str, Callable[[Params], Awaitable[Any]]]]:
        """Each Bot API method's handler, by its lower-cased name (the names are
        case-insensitive); built once, so a test may replace one entry."""
        handlers: dict[str, Callable[[Params], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "logOut": self._accept,
            "close": self._accept,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
        }
        return {name.lower(): (name, handler) for name, handler in handlers.items()}

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeBotApi is already running")
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_download)
        # A short shutdown_timeout: the only long-running handlers are long polls, and those
        # return as soon as _closing is set.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._wanted_port).start()
        self._port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession()
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeBotApi is not running; call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- HTTP -------------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        name = request.match_info["method"]
        entry = self._methods.get(name.lower())
        call = ApiCall(method=entry[0] if entry else name, params={}, time=time.monotonic())
        self.calls.append(call)
        try:
            call.params, call.files = await read_params(request)
            if entry is None:
                # Telegram says just "Not Found"; naming the method saves a debugging session,
                # since PTB turns any 404 into a puzzling InvalidToken.
                raise ApiError(404, f"Not Found: FakeBotApi does not implement {name}")
            self._notify()
            delays = self._delays.get(call.method.lower())
            if delays:
                await asyncio.sleep(delays.pop(0))
            injected = self._injected.get(call.method.lower())
            if injected:
                raise injected.pop(0)
            self._check_flood(call)
            result = await entry[1](Params(call.params, call.files))
        except ApiError as error:
            call.status, call.error = error.error_code, error.description
            self._notify()
            return web.json_response(error.payload(), status=error.error_code)
        call.status, call.result = 200, result
        self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _handle_download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        injected = self._injected.get("download")  # inject_error("download", ...): a file
        if injected:  # server that fails, as Telegram's does now and then
            error = injected.pop(0)
            return web.json_response(error.payload(), status=error.error_code)
        self.downloads.append(stored.file_path)
        self._notify()
        return web.Response(body=stored.content, content_type="application/octet-stream")
