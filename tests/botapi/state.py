"""The state of the fake Bot API server, shared by the parts of :class:`FakeBotApi`.

:class:`ApiState` holds what the server knows (users, chats, messages both ways, files,
pending updates, injected faults, the webhook) and builds the Bot API objects from it
(messages as they appear in updates and answers, chats, documents, photos). The parts
that read and change the state are mixins over it: the Bot API methods per family
(updates.py, messages.py, files.py, callbacks.py), fault injection (injection.py), the
user-side helpers (users.py) and inspection and waiting (inspection.py); server.py joins
them and serves them over HTTP.

Every state change calls :meth:`ApiState._notify`, which replaces an event, so waiters
(the tests' ``wait_for`` and the long polls) wake up without polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import aiohttp
from aiohttp import web

from .objects import FakeUser, JsonDict, drop_none, file_extension, inline_only
from .records import (
    ApiCall,
    ApiError,
    InlineAnswer,
    SentMessage,
    StoredFile,
    WebhookConfig,
    WebhookDelivery,
)


async def wait_event(event: asyncio.Event, timeout: float | None) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)


class ApiState:
    """What the server knows, and the Bot API objects built from it."""

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

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

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
