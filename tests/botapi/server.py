"""A fake Telegram Bot API server that python-telegram-bot talks to over real HTTP.

Point a bot at it with ``ApplicationBuilder().base_url(api.base_url)
.base_file_url(api.base_file_url)``; tests then act as Telegram users through the helpers
(:meth:`FakeBotApi.send_text`, :meth:`FakeBotApi.press_button`, ...) and inspect what the bot
did through :attr:`FakeBotApi.calls` and the :class:`SentMessage` records.

Where Telegram rejects a request, the fake returns Telegram's status code and description, so
the bot sees the same ``telegram.error`` exceptions it would see in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import aiohttp
from aiohttp import web

from .formatting import EntityParseError, UnsupportedParseModeError, format_text
from .objects import (
    FakeUser,
    JsonDict,
    add_bot_commands,
    canonical_json,
    drop_none,
    file_extension,
    find_bot_commands,
    image_size,
    inline_buttons,
    inline_only,
    strip_text,
    utf16_len,
)

T = TypeVar("T")

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"

# Telegram sends these update types only when allowed_updates asks for them explicitly.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_BUTTON_ACTIONS = frozenset(
    {
        "callback_data", "url", "web_app", "login_url", "switch_inline_query",
        "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
        "copy_text", "callback_game", "pay",
    }
)  # fmt: skip

# PTB (like most clients) sends every parameter as a form field; non-string values arrive
# JSON-encoded, so these are decoded by name before the handlers see them.
_JSON_PARAMS = frozenset(
    {
        "reply_markup", "reply_parameters", "allowed_updates", "commands", "scope",
        "entities", "caption_entities", "link_preview_options", "media", "message_ids",
    }
)  # fmt: skip
_NUMBER_PARAMS = frozenset(
    {
        "chat_id", "message_id", "offset", "limit", "timeout", "reply_to_message_id",
        "cache_time", "max_connections", "message_thread_id", "user_id",
    }
)  # fmt: skip
_BOOL_PARAMS = frozenset(
    {
        "drop_pending_updates", "show_alert", "disable_notification", "protect_content",
        "allow_sending_without_reply", "disable_web_page_preview", "has_spoiler",
        "disable_content_type_detection", "show_caption_above_media",
    }
)  # fmt: skip


class ApiError(Exception):
    """A failed Bot API request, rendered as Telegram's ``{"ok": false, ...}`` body."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JsonDict:
        body: JsonDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class UploadedFile:
    """A file that arrived as a multipart part."""

    field: str
    filename: str | None
    content: bytes
    content_type: str | None


@dataclass
class ApiCall:
    """One request to a Bot API method; ``status`` stays ``None`` while it is in progress."""

    method: str
    params: JsonDict
    time: float  # time.monotonic(), so tests can measure intervals (e.g. edit throttling)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int | None = None
    error: str | None = None
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class StoredFile:
    """A file known to the server: uploaded by a user or by the bot, downloadable by path."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    filename: str | None
    mime_type: str | None
    width: int | None = None
    height: int | None = None


@dataclass(eq=False)
class SentMessage:
    """A message sent by the bot, updated in place as the bot edits or deletes it.

    ``text`` and ``caption`` are what a Telegram client displays (markup parsed per
    ``parse_mode``); ``raw_text`` is the text exactly as the bot sent it. For ``document``
    and ``photo`` messages, ``document`` holds the uploaded bytes and ``filename`` their name.
    ``edits`` lists the text (or caption) after each successful edit, oldest first.
    """

    chat_id: int
    message_id: int
    date: int
    kind: Literal["text", "document", "photo"]
    text: str | None = None
    raw_text: str | None = None
    entities: list[JsonDict] = field(default_factory=list)
    parse_mode: str | None = None
    reply_markup: JsonDict | None = None
    reply_to_message_id: int | None = None
    document: bytes | None = None
    filename: str | None = None
    mime_type: str | None = None
    file_id: str | None = None
    caption: str | None = None
    caption_entities: list[JsonDict] = field(default_factory=list)
    edits: list[str] = field(default_factory=list)
    edit_times: list[float] = field(default_factory=list)
    edit_date: int | None = None
    deleted: bool = False
    sent_at: float = field(default_factory=time.monotonic)

    @property
    def buttons(self) -> list[JsonDict]:
        """The inline keyboard's buttons, row by row, flattened."""
        return inline_buttons(inline_only(self.reply_markup))

    @property
    def callback_data(self) -> list[str]:
        return [str(b["callback_data"]) for b in self.buttons if "callback_data" in b]

    def summary(self) -> str:
        def short(value: str | None) -> str:
            return repr(value if value is None or len(value) <= 120 else value[:117] + "...")

        if self.kind == "text":
            parts = [short(self.text)]
        else:
            size = len(self.document or b"")
            parts = [f"{self.filename!r} ({size} bytes)", f"caption={short(self.caption)}"]
        parts += [f"buttons={self.callback_data}"] if self.buttons else []
        parts += [f"edits={len(self.edits)}"] if self.edits else []
        parts += ["deleted"] if self.deleted else []
        return f"#{self.message_id} {self.kind} " + " ".join(parts)


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None


@dataclass
class WebhookDelivery:
    """One attempt to POST an update to the webhook."""

    update_id: int
    status: int | None  # None when the connection itself failed
    error: str | None
    time: float


class _Params:
    """Typed access to a request's (already normalised) parameters."""

    def __init__(self, values: JsonDict, files: dict[str, UploadedFile]):
        self.values = values
        self.files = files

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else str(value)

    def integer(self, name: str, missing: str | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad_request(f"invalid {name} specified")
        return int(value)

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad_request(f"invalid {name} specified")
        return float(value)

    def flag(self, name: str) -> bool:
        return bool(self.values.get(name))

    def mapping(self, name: str) -> JsonDict | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, dict):
            raise bad_request(f"can't parse {name} JSON object")
        return value

    def array(self, name: str) -> list[Any] | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, list):
            raise bad_request(f"can't parse {name} JSON array")
        return value


# inline mode (answerInlineQuery's form-encoded parameters).
_JSON_PARAMS |= frozenset({"results", "button"})
_BOOL_PARAMS |= frozenset({"is_personal"})
MAX_INLINE_RESULTS = 50


@dataclass
class InlineAnswer:
    """What the bot answered to an inline query."""

    results: list[JsonDict]
    cache_time: int | None
    is_personal: bool
    button: JsonDict | None
    next_offset: str | None


def _normalise(name: str, value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    if not isinstance(value, str):
        return value
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError as exc:
            raise bad_request(f"can't parse {name} JSON object") from exc
    if name in _NUMBER_PARAMS:
        for convert in (int, float):
            with contextlib.suppress(ValueError):
                return convert(value)
        return value  # e.g. "@channelname"; the handler decides
    if name in _BOOL_PARAMS:
        return value.strip().lower() in ("true", "1")
    return value


async def _read_params(request: web.Request) -> tuple[JsonDict, dict[str, UploadedFile]]:
    """Parameters from the query string and a JSON, form-urlencoded or multipart body."""
    raw: JsonDict = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise bad_request("can't parse JSON request body") from exc
            if not isinstance(body, dict):
                raise bad_request("JSON request body must be an object")
            raw.update(body)
        else:
            # request.post() understands both form encodings PTB uses: urlencoded without
            # files, multipart/form-data with them (httpx's data= plus files=).
            try:
                form = await request.post()
            except web.HTTPRequestEntityTooLarge as exc:
                raise ApiError(413, "Request Entity Too Large") from exc
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    content = value.file.read()
                    files[name] = UploadedFile(name, value.filename, content, value.content_type)
                else:
                    raw[name] = value
    return {name: _normalise(name, value) for name, value in raw.items()}, files


async def _wait_event(event: asyncio.Event, timeout: float | None) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)


def _update_type(update: JsonDict) -> str:
    return next((key for key in update if key != "update_id"), "")


class FakeBotApi:
    """An in-process Bot API server on 127.0.0.1 plus helpers to act as Telegram users."""

    def __init__(
        self,
        token: str,
        bot_id: int = 7000000001,
        bot_username: str = "test_char_bot",
        bot_first_name: str = "Test Char Bot",
        port: int = 0,
    ):
        self.token = token
        self._wanted_port = port  # 0: any free port; a fixed one lets a test start it late
        self.bot_user: JsonDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.calls: list[ApiCall] = []
        self.users: dict[int, FakeUser] = {}
        self.files: dict[str, StoredFile] = {}
        self.downloads: list[str] = []
        self.callback_answers: dict[str, JsonDict | None] = {}
        # inline queries by id (None until answered), and who sent them.
        self.inline_answers: dict[str, InlineAnswer | None] = {}
        self._inline_queries: dict[str, JsonDict] = {}
        self._inline_numbers = itertools.count(1)
        self.my_commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.webhook: WebhookConfig | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []

        self._sent: list[SentMessage] = []
        self._sent_by_chat: dict[int, list[SentMessage]] = {}
        self._bot_messages: dict[tuple[int, int], SentMessage] = {}
        self._user_messages: dict[tuple[int, int], JsonDict] = {}
        self._deleted_user_messages: set[tuple[int, int]] = set()
        self._next_message_id: dict[int, int] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self._query_numbers = itertools.count(1)
        self._blocked: set[int] = set()
        # Group chats (negative ids) and their members; users who never opened a private
        # chat with the bot (Telegram: 403 "bot can't initiate conversation").
        self.groups: dict[int, JsonDict] = {}
        self.group_members: dict[int, set[int]] = {}
        self._no_private_chat: set[int] = set()
        self._injected: dict[str, list[ApiError]] = {}
        self._delays: dict[str, list[float]] = {}
        # Flood control as Telegram documents it (enforce_flood_limits); off by default.
        self._flood_limits: dict[str, tuple[int, float]] | None = None
        self._flood_sent: dict[int | str, list[float]] = {}
        self.flood_refusals: list[ApiCall] = []

        # Updates stay here until confirmed (getUpdates offset) or delivered (webhook).
        self._pending: list[JsonDict] = []
        self._next_update_id = 500_000_001
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._last_webhook_error: tuple[int, str] | None = None

        # Replaced on every state change, so waiters wake up without polling.
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        # webhook POSTs in flight at once (Telegram: up to max_connections);
        # 1 keeps the updates strictly in order.
        self.webhook_concurrency = 1
        self._in_flight: set[int] = set()

        handlers: dict[str, Callable[[_Params], Awaitable[Any]]] = {
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
        # Bot API method names are case-insensitive.
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

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

    # -- inspection -------------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Every message the bot sent to ``chat_id``, oldest first, deleted ones included."""
        return list(self._sent_by_chat.get(chat_id, []))

    @property
    def all_sent(self) -> list[SentMessage]:
        return list(self._sent)

    def mark(self, chat_id: int) -> int:
        """How many messages the bot has sent to ``chat_id``; pass it as ``since`` later."""
        return len(self._sent_by_chat.get(chat_id, []))

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def commands_for(
        self, scope: JsonDict | None = None, language_code: str = ""
    ) -> list[JsonDict]:
        """The commands set for exactly this scope and language (like getMyCommands)."""
        key = (canonical_json(scope or {"type": "default"}), language_code)
        return list(self.my_commands.get(key, []))

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet confirmed by getUpdates or delivered to the webhook."""
        return list(self._pending)

    def describe(self, chat_id: int | None = None) -> str:
        """A human-readable account of what the bot did, for assertion messages."""
        lines: list[str] = []
        chats = [chat_id] if chat_id is not None else sorted(self._sent_by_chat)
        for chat in chats:
            messages = self._sent_by_chat.get(chat, [])
            lines.append(f"bot messages in chat {chat}: {len(messages)}")
            lines += [f"  [{index}] {m.summary()}" for index, m in enumerate(messages)]
        failures = [call for call in self.calls if call.status not in (None, 200)]
        if failures:
            lines.append("failed API calls (latest last):")
            lines += [f"  {c.method} -> {c.status} {c.error}" for c in failures[-8:]]
        others = [call for call in self.calls if call.method != "getUpdates"]
        polls = len(self.calls) - len(others)
        lines.append(f"API calls other than getUpdates (latest last; {polls} getUpdates):")
        for call in others[-12:]:
            params = json.dumps(call.params, ensure_ascii=False, default=str)
            params = params if len(params) <= 160 else params[:157] + "..."
            uploads = [
                f"{f.field}={f.filename!r} ({len(f.content)} bytes)" for f in call.files.values()
            ]
            params += f" files: {', '.join(uploads)}" if uploads else ""
            lines.append(f"  {call.method} {params} -> {call.status} {call.error or ''}".rstrip())
        mode = f"webhook {self.webhook.url}" if self.webhook else "polling"
        lines.append(f"mode: {mode}; pending updates: {len(self._pending)}")
        if self.webhook and self._last_webhook_error:
            lines.append(f"last webhook error: {self._last_webhook_error[1]}")
        return "\n".join(lines)

    # -- waiting ----------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 30.0,
        description: str = "condition",
        chat_id: int | None = None,
    ) -> T:
        """Waits until ``predicate()`` returns something other than ``None``/``False``.

        The predicate is re-checked whenever the server's state changes (any API call,
        update, delivery), so there is no polling interval to tune.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            result = predicate()
            if result is not None and result is not False:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"Timed out after {timeout:g}s waiting for {description}.\n"
                    + self.describe(chat_id)
                )
            await _wait_event(changed, remaining)

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 30.0, since: int = 0
    ) -> list[SentMessage]:
        """The first ``count`` bot messages to ``chat_id`` at index ``since`` or later."""

        def arrived() -> list[SentMessage] | None:
            messages = self._sent_by_chat.get(chat_id, [])[since:]
            return messages[:count] if len(messages) >= count else None

        return await self.wait_for(
            arrived,
            timeout,
            f"{count} bot message(s) in chat {chat_id} from index {since}",
            chat_id=chat_id,
        )

    async def wait_for_edit(
        self,
        message: SentMessage,
        predicate: Callable[[SentMessage], bool],
        timeout: float = 30.0,
    ) -> SentMessage:
        """Waits until ``predicate(message)`` holds; the message is updated in place."""
        return await self.wait_for(
            lambda: message if predicate(message) else None,
            timeout,
            f"message #{message.message_id} in chat {message.chat_id} to satisfy the predicate "
            f"(now: {message.summary()})",
            chat_id=message.chat_id,
        )

    async def wait_for_callback_answer(self, query_id: str, timeout: float = 30.0) -> JsonDict:
        return await self.wait_for(
            lambda: self.callback_answers.get(query_id),
            timeout,
            f"answerCallbackQuery for query {query_id}",
        )

    # -- acting as users --------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
    ) -> FakeUser:
        """A user whose private chat with the bot (chat id = user id) now exists."""
        user = FakeUser(user_id, first_name, last_name, username, language_code)
        self.users[user_id] = user
        return user

    def block(self, user: FakeUser, blocked: bool = True) -> None:
        """Makes sends to the user fail as after they blocked the bot (403 Forbidden)."""
        if blocked:
            self._blocked.add(user.id)
        else:
            self._blocked.discard(user.id)

    def group(
        self,
        chat_id: int,
        members: list[FakeUser],
        title: str = "Test group",
        chat_type: Literal["group", "supergroup"] = "group",
    ) -> int:
        """A group chat (``chat_id`` negative, as Telegram's) with the bot and ``members``;
        users act in it with ``send_text(..., chat=chat_id)``."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        self.groups[chat_id] = {"id": chat_id, "type": chat_type, "title": title}
        self.group_members[chat_id] = {m.id for m in members}
        for member in members:
            self.users.setdefault(member.id, member)
        return chat_id

    def no_private_chat(self, user: FakeUser, missing: bool = True) -> None:
        """Sends to the user's private chat fail as for a user who never started the bot."""
        if missing:
            self._no_private_chat.add(user.id)
        else:
            self._no_private_chat.discard(user.id)

    def inject_error(
        self,
        method: str,
        description: str,
        error_code: int = 400,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Makes the next ``times`` calls of ``method`` fail, e.g. with flood control::

        api.inject_error("sendMessage", "Too Many Requests: retry after 1", 429, retry_after=1)
        """
        error = ApiError(error_code, description, retry_after)
        self._injected.setdefault(method.lower(), []).extend([error] * times)

    def inject_delay(self, method: str, seconds: float, times: int = 1) -> None:
        """Makes the next ``times`` calls of ``method`` answer only after ``seconds`` (a slow
        or hanging Telegram: the bot's read timeout may expire first). Delays run before any
        injected error, so a slow 500 is ``inject_delay`` plus ``inject_error``."""
        self._delays.setdefault(method.lower(), []).extend([seconds] * times)

    FLOOD_METHODS = frozenset(
        {"sendmessage", "senddocument", "sendphoto", "editmessagetext", "editmessagecaption",
         "editmessagereplymarkup"}
    )  # fmt: skip

    def enforce_flood_limits(
        self,
        private: tuple[int, float] = (3, 3.0),
        group: tuple[int, float] = (20, 60.0),
        overall: tuple[int, float] = (30, 1.0),
    ) -> None:
        """Answer 429 (retry_after 1) to a message that would make a chat (or the bot as a
        whole) exceed ``(messages, seconds)`` in any sliding window of arrival times, as
        Telegram's flood control does; refused calls are listed in ``flood_refusals``."""
        self._flood_limits = {"private": private, "group": group, "overall": overall}

    def _check_flood(self, call: ApiCall) -> None:
        limits = self._flood_limits
        if limits is None or call.method.lower() not in self.FLOOD_METHODS:
            return
        raw = call.params.get("chat_id")
        if raw is None:
            return
        try:
            chat: int | str = int(raw)
        except (TypeError, ValueError):
            chat = str(raw)
        kind = "private" if isinstance(chat, int) and chat > 0 else "group"
        scopes: list[tuple[int | str, tuple[int, float]]] = [
            (chat, limits[kind]),
            ("*overall*", limits["overall"]),
        ]
        for scope, (count, seconds) in scopes:
            recent = [t for t in self._flood_sent.get(scope, []) if call.time - t < seconds]
            if len(recent) >= count:
                self.flood_refusals.append(call)
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        for scope, _ in scopes:
            self._flood_sent.setdefault(scope, []).append(call.time)

    def injected_left(self, method: str) -> int:
        """How many injected errors for ``method`` have not been served yet."""
        return len(self._injected.get(method.lower(), []))

    async def enqueue_update(self, update: JsonDict) -> JsonDict:
        """Queues a raw update (for getUpdates or the webhook); assigns ``update_id``."""
        update = dict(update)
        given = update.get("update_id")
        if given is None:
            update["update_id"] = self._next_update_id
        elif int(given) < self._next_update_id:
            raise ValueError(f"update_id {given} is not above the previous update's")
        self._next_update_id = int(update["update_id"]) + 1
        self._pending.append(update)
        self._notify()
        return update

    async def send_text(
        self,
        user: FakeUser,
        text: str,
        reply_to: SentMessage | int | None = None,
        chat: int | None = None,
    ) -> JsonDict:
        """The user sends ``text`` to the bot (in ``chat``, a group, if given; else in
        their private chat); returns the queued update."""
        text = text.strip()  # Telegram trims messages; an empty one can't be sent at all.
        if not text:
            raise ValueError("Telegram clients can't send an empty message")
        entities = find_bot_commands(text)
        message = self._new_user_message(
            user, reply_to, text=text, entities=entities or None, _chat=chat
        )
        return await self.enqueue_update({"message": message})

    async def send_document(
        self,
        user: FakeUser,
        filename: str,
        content: bytes,
        caption: str | None = None,
        mime_type: str = "text/plain",
        reply_to: SentMessage | int | None = None,
        with_file_size: bool = True,
        chat: int | None = None,
    ) -> JsonDict:
        """The user sends a file (in ``chat``, a group, if given); the bot can fetch it
        with getFile and download it.

        ``with_file_size=False``: the message omits ``file_size``, which Telegram may do.
        """
        stored = self._store_file(content, filename, mime_type, "documents")
        caption = caption.strip() if caption else None
        document = self._document_object(stored)
        if not with_file_size:
            document.pop("file_size", None)
        message = self._new_user_message(
            user,
            reply_to,
            document=document,
            caption=caption or None,
            caption_entities=(find_bot_commands(caption) or None) if caption else None,
            _chat=chat,
        )
        return await self.enqueue_update({"message": message})

    async def press_button(self, user: FakeUser, message: SentMessage, callback_data: str) -> str:
        """The user presses an inline button; returns the callback query id to check answers."""
        current = self._bot_messages.get((message.chat_id, message.message_id))
        if current is None or current.deleted:
            raise ValueError(f"message #{message.message_id} is gone; its buttons can't be pressed")
        if current.chat_id != user.id and user.id not in self.group_members.get(
            current.chat_id, set()
        ):
            raise ValueError(f"message #{message.message_id} is not in a chat {user.id} is in")
        if callback_data not in current.callback_data:
            raise ValueError(
                f"message #{current.message_id} has no button with callback_data "
                f"{callback_data!r}; its buttons: {current.callback_data}"
            )
        return await self._callback_query(user, current, callback_data)

    async def press_forged_button(
        self, user: FakeUser, message: SentMessage, callback_data: str
    ) -> str:
        """A callback query with ``callback_data`` the message's buttons do not carry, as a
        modified client can send for any message it can see; returns the query id."""
        current = self._bot_messages.get((message.chat_id, message.message_id))
        if current is None or current.deleted:
            raise ValueError(f"message #{message.message_id} is gone")
        return await self._callback_query(user, current, callback_data)

    async def _callback_query(
        self, user: FakeUser, current: SentMessage, callback_data: str
    ) -> str:
        self.users.setdefault(user.id, user)
        query_id = str(4_000_000_000_000_000 + next(self._query_numbers))
        self.callback_answers[query_id] = None
        query = {
            "id": query_id,
            "from": user.to_dict(),
            "message": self._bot_message_object(current),
            "chat_instance": str(-(10**18) - current.chat_id),
            "data": callback_data,
        }
        await self.enqueue_update({"callback_query": query})
        return query_id

    # -- inline mode -------------------------------------------------------------------

    async def send_inline_query(
        self, user: FakeUser, query: str, chat_type: str = "private"
    ) -> str:
        """The user types ``@bot <query>`` in a chat of ``chat_type``; returns the query id
        (Telegram sends one query per pause in typing, each with a new id)."""
        self.users.setdefault(user.id, user)
        query_id = str(5_000_000_000_000_000 + next(self._inline_numbers))
        inline = {
            "id": query_id,
            "from": user.to_dict(),
            "query": query[:256],  # Telegram cuts inline queries at 256 characters
            "offset": "",
            "chat_type": chat_type,
        }
        self._inline_queries[query_id] = inline
        self.inline_answers[query_id] = None
        await self.enqueue_update({"inline_query": inline})
        return query_id

    async def wait_for_inline_answer(self, query_id: str, timeout: float = 30.0) -> InlineAnswer:
        return await self.wait_for(
            lambda: self.inline_answers.get(query_id),
            timeout,
            f"answerInlineQuery for inline query {query_id}",
        )

    async def choose_inline_result(
        self, user: FakeUser, query_id: str, result_id: str, chat: int, feedback: bool = True
    ) -> JsonDict:
        """The user picks a result: its message is posted in ``chat`` as the user's, "via"
        the bot; with ``feedback`` (BotFather's /setinlinefeedback) the bot then gets a
        ``chosen_inline_result``. Returns the posted message."""
        answer = self.inline_answers.get(query_id)
        if answer is None:
            raise ValueError(f"inline query {query_id} has no answer to choose from")
        [result] = [r for r in answer.results if r.get("id") == result_id]
        content = result.get("input_message_content") or {}
        message = self._new_user_message(
            user,
            None,
            text=content.get("message_text"),
            via_bot=self.bot_user,
            _chat=(None if chat == user.id else chat),
        )
        if feedback:
            chosen = {
                "result_id": result_id,
                "from": user.to_dict(),
                "query": self._inline_queries[query_id]["query"],
            }
            await self.enqueue_update({"chosen_inline_result": chosen})
        return message

    async def _answer_inline_query(self, params: _Params) -> bool:
        query_id = params.text("inline_query_id") or ""
        if query_id not in self.inline_answers or self.inline_answers[query_id] is not None:
            raise bad_request(QUERY_INVALID)
        results = params.array("results")
        if results is None:
            raise bad_request("results must be an array")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        ids = [str(r.get("id", "")) for r in results]
        if any(not 1 <= len(i.encode()) <= 64 for i in ids) or len(set(ids)) != len(ids):
            raise bad_request("RESULT_ID_INVALID")
        for result in results:
            if result.get("type") == "article":
                text = (result.get("input_message_content") or {}).get("message_text") or ""
                if not result.get("title") or not text.strip():
                    raise bad_request(
                        "ARTICLE_TITLE_EMPTY" if not result.get("title") else "MESSAGE_EMPTY"
                    )
                if utf16_len(text) > MAX_MESSAGE_LENGTH:
                    raise bad_request("MESSAGE_TOO_LONG")
        self.inline_answers[query_id] = InlineAnswer(
            results=list(results),
            cache_time=params.integer("cache_time"),
            is_personal=params.flag("is_personal"),
            button=params.mapping("button"),
            next_offset=params.text("next_offset"),
        )
        self._notify()
        return True

    async def post_raw_to_webhook(self, update: JsonDict, secret: str | None) -> int:
        """POSTs ``update`` to the webhook with the given secret header (None: no header).

        Returns the HTTP status the bot's webhook server answered; the update does not go
        through the pending queue, so nothing is retried.
        """
        if self.webhook is None or self._session is None:
            raise RuntimeError("no webhook is set (or the server is not running)")
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with self._session.post(
            self.webhook.url, data=json.dumps(update).encode(), headers=headers
        ) as response:
            await response.read()
            return response.status

    # --- an update sent to one chosen replica, past the reverse proxy

    async def send_text_to(self, url: str, user: FakeUser, text: str, secret: str | None) -> int:
        """Like :meth:`send_text`, but POSTed once straight to ``url`` (e.g. one replica's
        own webhook port, bypassing the load balancer) instead of queued for the webhook.
        Returns the HTTP status; nothing is retried."""
        if self._session is None:
            raise RuntimeError("the server is not running")
        message = self._new_user_message(
            user, None, text=text, entities=find_bot_commands(text) or None
        )
        update = {"update_id": self._next_update_id, "message": message}
        self._next_update_id += 1
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with self._session.post(url, data=json.dumps(update).encode(), headers=headers) as r:
            await r.read()
            return r.status

    def _new_user_message(
        self,
        user: FakeUser,
        reply_to: SentMessage | int | None,
        _chat: int | None = None,
        **content: Any,
    ) -> JsonDict:
        self.users.setdefault(user.id, user)
        chat_id = user.id if _chat is None else _chat
        if _chat is not None and user.id not in self.group_members.get(_chat, set()):
            raise ValueError(f"user {user.id} is not a member of group {_chat}")
        message: JsonDict = {
            "message_id": self._new_message_id(chat_id),
            "from": user.to_dict(),
            "chat": self._chat_object(chat_id),
            "date": int(time.time()),
            **drop_none(content),
        }
        if reply_to is not None:
            target_id = reply_to.message_id if isinstance(reply_to, SentMessage) else reply_to
            target = self._message_object(chat_id, target_id)
            if target is None:
                raise ValueError(f"no message #{target_id} in chat {chat_id} to reply to")
            message["reply_to_message"] = target
        self._user_messages[(chat_id, message["message_id"])] = message
        return message

    # -- object builders --------------------------------------------------------------------

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _chat_object(self, chat_id: int) -> JsonDict:
        if chat_id in self.groups:
            return dict(self.groups[chat_id])
        user = self.users.get(chat_id)
        return user.private_chat() if user else {"id": chat_id, "type": "private"}

    def _message_object(self, chat_id: int, message_id: int) -> JsonDict | None:
        """A message as it appears inside another (reply_to_message, callback_query)."""
        bot_message = self._bot_messages.get((chat_id, message_id))
        if bot_message is not None:
            return None if bot_message.deleted else self._bot_message_object(bot_message, False)
        key = (chat_id, message_id)
        if key in self._user_messages and key not in self._deleted_user_messages:
            # Telegram doesn't nest replies: a quoted message carries no reply_to_message.
            return {k: v for k, v in self._user_messages[key].items() if k != "reply_to_message"}
        return None

    def _bot_message_object(self, message: SentMessage, with_reply: bool = True) -> JsonDict:
        result: JsonDict = {
            "message_id": message.message_id,
            "from": self.bot_user,
            "chat": self._chat_object(message.chat_id),
            "date": message.date,
        }
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.kind == "text":
            result["text"] = message.text
            if message.entities:
                result["entities"] = message.entities
        else:
            stored = self.files[message.file_id or ""]
            if message.kind == "document":
                result["document"] = self._document_object(stored)
            else:
                result["photo"] = [self._photo_size_object(stored)]
            if message.caption:
                result["caption"] = message.caption
                if message.caption_entities:
                    result["caption_entities"] = message.caption_entities
        if markup := inline_only(message.reply_markup):
            result["reply_markup"] = markup
        if with_reply and message.reply_to_message_id is not None:
            replied = self._message_object(message.chat_id, message.reply_to_message_id)
            if replied is not None:
                result["reply_to_message"] = replied
        return result

    @staticmethod
    def _document_object(stored: StoredFile) -> JsonDict:
        return drop_none(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": stored.filename,
                "mime_type": stored.mime_type,
                "file_size": len(stored.content),
            }
        )

    @staticmethod
    def _photo_size_object(stored: StoredFile) -> JsonDict:
        # Telegram returns several re-encoded sizes; one original-size entry keeps the bytes
        # downloadable unchanged, and photo[-1] is still the largest, as bots expect.
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": stored.width,
            "height": stored.height,
            "file_size": len(stored.content),
        }

    def _store_file(
        self, content: bytes, filename: str | None, mime_type: str | None, folder: str
    ) -> StoredFile:
        number = next(self._file_numbers)
        stored = StoredFile(
            file_id=f"{folder}-{number:06d}-{self.bot_user['id']}",
            file_unique_id=f"uniq{number:06d}",
            file_path=f"{folder}/file_{number}{file_extension(filename)}",
            content=content,
            filename=filename,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    # -- HTTP -------------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        name = request.match_info["method"]
        entry = self._methods.get(name.lower())
        call = ApiCall(method=entry[0] if entry else name, params={}, time=time.monotonic())
        self.calls.append(call)
        try:
            call.params, call.files = await _read_params(request)
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
            result = await entry[1](_Params(call.params, call.files))
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

    # -- Bot API methods: bot and updates ---------------------------------------------------

    async def _accept(self, params: _Params) -> bool:
        return True

    async def _get_me(self, params: _Params) -> JsonDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_allowed_updates(self, params: _Params) -> list[str] | None:
        allowed = params.array("allowed_updates")
        if allowed is not None:
            # An empty list means "back to the default set", as in the Bot API.
            self._allowed_updates = frozenset(map(str, allowed)) or None
        return allowed

    def _deliverable(self) -> list[JsonDict]:
        allowed = self._allowed_updates

        def wanted(update: JsonDict) -> bool:
            kind = _update_type(update)
            return kind in allowed if allowed is not None else kind not in OPT_IN_UPDATE_TYPES

        # Telegram never produces updates of unwanted types, so they are dropped for good.
        self._pending = [update for update in self._pending if wanted(update)]
        return list(self._pending)

    async def _get_updates(self, params: _Params) -> list[JsonDict]:
        if self.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        self._poll_generation += 1
        generation = self._poll_generation
        offset = params.integer("offset")
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        self._set_allowed_updates(params)
        if offset is not None and offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset is not None and offset < 0:
            self._pending = self._pending[offset:]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_OTHER_POLL)
            if self.webhook is not None:
                raise ApiError(409, CONFLICT_WEBHOOK)
            batch = self._deliverable()[:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                return batch
            await _wait_event(changed, remaining)

    async def _set_webhook(self, params: _Params) -> bool:
        url = params.text("url") or ""
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        allowed = self._set_allowed_updates(params)
        if not url:
            self.webhook = None
            self._notify()
            return True
        if not url.startswith(("http://", "https://")):
            # Telegram insists on HTTPS; the fake accepts http:// for local test servers.
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.text("secret_token")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        if self.webhook is None or self.webhook.url != url:
            self._last_webhook_error = None
        self.webhook = WebhookConfig(
            url=url,
            secret_token=secret or None,
            max_connections=params.integer("max_connections") or 40,
            allowed_updates=[str(kind) for kind in allowed] if allowed is not None else None,
        )
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(
                self._deliver_to_webhook(), name="FakeBotApi webhook delivery"
            )
        self._notify()
        return True

    async def _delete_webhook(self, params: _Params) -> bool:
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        self.webhook = None
        self._notify()
        return True

    async def _get_webhook_info(self, params: _Params) -> JsonDict:
        info: JsonDict = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates:
                info["allowed_updates"] = self.webhook.allowed_updates
            if self._last_webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._last_webhook_error
        return info

    async def _deliver_to_webhook(self) -> None:
        """Sends pending updates to the webhook, retrying failures: one at a time and in
        order, or over ``webhook_concurrency`` connections at once, as
        Telegram does up to the webhook's ``max_connections``."""
        workers = max(1, min(self.webhook_concurrency, 100))
        await asyncio.gather(*(self._webhook_worker() for _ in range(workers)))

    async def _webhook_worker(self) -> None:
        failures = 0
        while not self._closing and self.webhook is not None and self._session is not None:
            changed = self._changed
            pending = [u for u in self._deliverable() if u["update_id"] not in self._in_flight]
            if not pending:
                await _wait_event(changed, None)
                continue
            update, webhook = pending[0], self.webhook
            self._in_flight.add(update["update_id"])
            try:
                failed = await self._post_update(update, webhook)
            finally:
                self._in_flight.discard(update["update_id"])
            if not failed:
                failures = 0
                continue
            failures += 1
            # Telegram keeps retrying with growing pauses; these are short for tests' sake,
            # e.g. PTB sets the webhook before its server listens.
            await asyncio.sleep(min(0.05 * 2 ** (failures - 1), 1.0))

    async def _post_update(self, update: JsonDict, webhook: WebhookConfig) -> bool:
        """One delivery attempt; True when it failed (and is to be retried)."""
        if self._session is None:
            return True
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[SECRET_HEADER] = webhook.secret_token
        status: int | None = None
        error: str | None = None
        try:
            async with self._session.post(
                webhook.url,
                data=json.dumps(update).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                await response.read()
                status = response.status
                if not 200 <= status < 300:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
        except Exception as exc:  # Any failure must be retried, not kill the delivery task.
            error = f"Connection failed: {exc!r}"
        self.webhook_deliveries.append(
            WebhookDelivery(update["update_id"], status, error, time.monotonic())
        )
        if error is None:
            self._pending = [u for u in self._pending if u["update_id"] != update["update_id"]]
            self._notify()
            return False
        self._last_webhook_error = (int(time.time()), error)
        self._notify()
        return True

    # -- Bot API methods: messages ----------------------------------------------------------

    def _target_chat(self, params: _Params) -> int:
        chat_id = params.raw("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise bad_request("chat not found")
        if chat_id in self.groups:
            return chat_id
        if chat_id not in self.users:
            raise bad_request("chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self._no_private_chat:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat_id

    def _formatted(
        self, params: _Params, text_name: str, entities_name: str
    ) -> tuple[str, str, list[JsonDict]]:
        """(as sent, as displayed, entities) for a text or caption parameter."""
        raw = params.text(text_name) or ""
        try:
            text, entities = format_text(
                raw, params.text("parse_mode"), params.array(entities_name)
            )
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
        except UnsupportedParseModeError as exc:
            raise bad_request("unsupported parse_mode") from exc
        text, entities = strip_text(text, entities)
        return raw, text, add_bot_commands(text, entities)

    def _checked_markup(self, params: _Params) -> JsonDict | None:
        markup = params.mapping("reply_markup")
        for button in inline_buttons(markup):
            if not _BUTTON_ACTIONS.intersection(button):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
        return markup

    def _reply_target(self, chat_id: int, params: _Params) -> int | None:
        reply = params.mapping("reply_parameters") or {}
        message_id = reply.get("message_id", params.integer("reply_to_message_id"))
        if message_id is None:
            return None
        if self._message_object(chat_id, int(message_id)) is not None:
            return int(message_id)
        if reply.get("allow_sending_without_reply", params.flag("allow_sending_without_reply")):
            return None
        raise bad_request("message to be replied not found")

    def _record_sent(self, message: SentMessage) -> JsonDict:
        self._sent.append(message)
        self._sent_by_chat.setdefault(message.chat_id, []).append(message)
        self._bot_messages[(message.chat_id, message.message_id)] = message
        return self._bot_message_object(message)

    async def _send_message(self, params: _Params) -> JsonDict:
        chat_id = self._target_chat(params)
        raw, text, entities = self._formatted(params, "text", "entities")
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise bad_request("message is too long")
        markup = self._checked_markup(params)
        reply_to = self._reply_target(chat_id, params)
        message = SentMessage(
            chat_id=chat_id,
            message_id=self._new_message_id(chat_id),
            date=int(time.time()),
            kind="text",
            text=text,
            raw_text=raw,
            entities=entities,
            parse_mode=params.text("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self._record_sent(message)

    def _message_to_edit(self, params: _Params) -> SentMessage:
        if params.raw("inline_message_id"):
            raise bad_request("FakeBotApi does not support inline messages")
        chat_id = self._target_chat(params)
        message_id = params.integer("message_id", missing="message identifier is not specified")
        message = self._bot_messages.get((chat_id, message_id or 0))
        if message is None or message.deleted:
            if (chat_id, message_id) in self._user_messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return message

    def _record_edit(self, message: SentMessage, new_text: str) -> JsonDict:
        message.edits.append(new_text)
        message.edit_times.append(time.monotonic())
        message.edit_date = int(time.time())
        return self._bot_message_object(message)

    async def _edit_message_text(self, params: _Params) -> JsonDict:
        message = self._message_to_edit(params)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        raw, text, entities = self._formatted(params, "text", "entities")
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        # Leaving reply_markup out removes the inline keyboard, as in Telegram.
        markup = inline_only(self._checked_markup(params))
        if (text, entities, markup) == (
            message.text,
            message.entities,
            inline_only(message.reply_markup),
        ):
            raise bad_request(NOT_MODIFIED)
        message.text, message.raw_text, message.entities = text, raw, entities
        message.parse_mode = params.text("parse_mode")
        message.reply_markup = markup
        return self._record_edit(message, text)

    async def _edit_message_caption(self, params: _Params) -> JsonDict:
        message = self._message_to_edit(params)
        if message.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        _, caption, entities = self._formatted(params, "caption", "caption_entities")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        markup = inline_only(self._checked_markup(params))
        if (caption or None, entities, markup) == (
            message.caption,
            message.caption_entities,
            inline_only(message.reply_markup),
        ):
            raise bad_request(NOT_MODIFIED)
        message.caption, message.caption_entities = caption or None, entities
        message.reply_markup = markup
        return self._record_edit(message, caption)

    async def _edit_message_reply_markup(self, params: _Params) -> JsonDict:
        message = self._message_to_edit(params)
        markup = inline_only(self._checked_markup(params))
        if markup == inline_only(message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = int(time.time())
        return self._bot_message_object(message)

    def _delete(self, chat_id: int, message_id: int) -> bool:
        message = self._bot_messages.get((chat_id, message_id))
        if message is not None and not message.deleted:
            message.deleted = True
            return True
        key = (chat_id, message_id)
        if key in self._user_messages and key not in self._deleted_user_messages:
            # Bots may delete incoming messages in private chats too.
            self._deleted_user_messages.add(key)
            return True
        return False

    async def _delete_message(self, params: _Params) -> bool:
        chat_id = self._target_chat(params)
        message_id = params.integer("message_id", missing="message identifier is not specified")
        if not self._delete(chat_id, message_id or 0):
            raise bad_request("message to delete not found")
        return True

    async def _delete_messages(self, params: _Params) -> bool:
        chat_id = self._target_chat(params)
        for message_id in params.array("message_ids") or []:
            self._delete(chat_id, int(message_id))  # Telegram skips missing ones silently.
        return True

    async def _send_chat_action(self, params: _Params) -> bool:
        self._target_chat(params)
        if params.text("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # -- Bot API methods: commands and callback queries -------------------------------------

    def _commands_key(self, params: _Params) -> tuple[str, str]:
        scope = params.mapping("scope") or {"type": "default"}
        return canonical_json(scope), params.text("language_code") or ""

    async def _set_my_commands(self, params: _Params) -> bool:
        commands = params.array("commands")
        if commands is None:
            raise bad_request('parameter "commands" is required')
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse commands JSON object")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        if commands:
            self.my_commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.my_commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: _Params) -> list[JsonDict]:
        return list(self.my_commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: _Params) -> bool:
        self.my_commands.pop(self._commands_key(params), None)
        return True

    async def _answer_callback_query(self, params: _Params) -> bool:
        query_id = params.text("callback_query_id") or ""
        # Each query can be answered once; later answers fail like expired ones.
        if query_id not in self.callback_answers or self.callback_answers[query_id] is not None:
            raise bad_request(QUERY_INVALID)
        text = params.text("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = {
            "text": text,
            "show_alert": params.flag("show_alert"),
            "url": params.text("url"),
            "cache_time": params.integer("cache_time"),
        }
        return True

    # -- Bot API methods: files -------------------------------------------------------------

    def _input_file(self, params: _Params, name: str) -> StoredFile | UploadedFile:
        """The file a send* method refers to: a fresh upload or a known file_id."""
        value = params.raw(name)
        upload = params.files.get(name)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = params.files.get(value.removeprefix("attach://"))
        if upload is not None:
            if len(upload.content) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            if not upload.content:
                raise bad_request("file must be non-empty")
            return upload
        if value is None or value == "":
            raise bad_request(f"there is no {name} in the request")
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _file_message(
        self, params: _Params, kind: Literal["document", "photo"], stored: StoredFile
    ) -> SentMessage:
        chat_id = self._target_chat(params)
        _, caption, entities = self._formatted(params, "caption", "caption_entities")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        markup = self._checked_markup(params)
        reply_to = self._reply_target(chat_id, params)
        return SentMessage(
            chat_id=chat_id,
            message_id=self._new_message_id(chat_id),
            date=int(time.time()),
            kind=kind,
            parse_mode=params.text("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply_to,
            document=stored.content,
            filename=stored.filename,
            mime_type=stored.mime_type,
            file_id=stored.file_id,
            caption=caption or None,
            caption_entities=entities,
        )

    async def _send_document(self, params: _Params) -> JsonDict:
        self._target_chat(params)
        source = self._input_file(params, "document")
        if isinstance(source, UploadedFile):
            source = self._store_file(
                source.content,
                source.filename,
                source.content_type or "application/octet-stream",
                "documents",
            )
        return self._record_sent(self._file_message(params, "document", source))

    async def _send_photo(self, params: _Params) -> JsonDict:
        self._target_chat(params)
        source = self._input_file(params, "photo")
        if isinstance(source, UploadedFile):
            size = image_size(source.content)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > 10000 or max(width, height) > 20 * min(width, height):
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
            source = self._store_file(source.content, source.filename, "image/jpeg", "photos")
            source.width, source.height = width, height
        elif source.width is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return self._record_sent(self._file_message(params, "photo", source))

    async def _get_file(self, params: _Params) -> JsonDict:
        stored = self.files.get(params.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }
