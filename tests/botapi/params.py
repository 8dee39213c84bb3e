"""A request's parameters, as the Bot API methods of the fake server read them.

They come from the query string and a JSON, form-urlencoded or multipart body; form
fields are decoded by name (JSON, numbers, booleans) before the handlers see them, and
:class:`Params` gives the handlers typed access that fails as Telegram's checks do.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from aiohttp import web

from .objects import JsonDict
from .records import ApiError, UploadedFile, bad_request

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


class Params:
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


async def read_params(request: web.Request) -> tuple[JsonDict, dict[str, UploadedFile]]:
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
