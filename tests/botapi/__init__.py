"""A fake Telegram Bot API server for end-to-end tests of the bot (see server.py)."""

from .formatting import EntityParseError, format_text, parse_html, parse_markdown_v2
from .objects import FakeUser, find_bot_commands, utf16_len
from .records import (
    SECRET_HEADER,
    ApiCall,
    ApiError,
    InlineAnswer,
    SentMessage,
    StoredFile,
    UploadedFile,
    WebhookConfig,
    WebhookDelivery,
)
from .server import FakeBotApi

__all__ = [
    "SECRET_HEADER",
    "ApiCall",
    "ApiError",
    "EntityParseError",
    "FakeBotApi",
    "FakeUser",
    "InlineAnswer",
    "SentMessage",
    "StoredFile",
    "UploadedFile",
    "WebhookConfig",
    "WebhookDelivery",
    "find_bot_commands",
    "format_text",
    "parse_html",
    "parse_markdown_v2",
    "utf16_len",
]
