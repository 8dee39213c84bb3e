"""What the fake Bot API server records and answers: the requests it got (:class:`ApiCall`),
the messages the bot sent (:class:`SentMessage`), files, webhook settings and deliveries,
inline answers, and :class:`ApiError`.

Where Telegram rejects a request, the fake returns Telegram's status code and description, so
the bot sees the same ``telegram.error`` exceptions it would see in production; an
:class:`ApiError` is that rejection, rendered as Telegram's ``{"ok": false, ...}`` body.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from .objects import JsonDict, inline_buttons, inline_only

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


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


@dataclass
class InlineAnswer:
    """What the bot answered to an inline query."""

    results: list[JsonDict]
    cache_time: int | None
    is_personal: bool
    button: JsonDict | None
    next_offset: str | None
