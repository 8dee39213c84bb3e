"""Builders for the JSON objects the fake Bot API exchanges with python-telegram-bot.

Everything here produces plain dicts shaped like the Bot API documents them, so that
``telegram.Message.de_json`` and friends accept them exactly as they accept Telegram's.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class FakeUser:
    """A Telegram user the tests act as; its private chat with the bot has ``chat_id == id``."""

    id: int
    first_name: str = "Test"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    @property
    def chat_id(self) -> int:
        return self.id

    def to_dict(self) -> JsonDict:
        return drop_none(
            {
                "id": self.id,
                "is_bot": self.is_bot,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
            }
        )

    def private_chat(self) -> JsonDict:
        return drop_none(
            {
                "id": self.id,
                "type": "private",
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
            }
        )


def drop_none(values: JsonDict) -> JsonDict:
    # The Bot API omits absent optional fields rather than sending null.
    return {key: value for key, value in values.items() if value is not None}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of every Bot API entity offset and length."""
    return len(text.encode("utf-16-le")) // 2


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _is_word_character(char: str) -> bool:
    return char == "_" or char.isalnum()


def _is_command_char(char: str) -> bool:
    return char == "_" or (char.isascii() and char.isalnum())


def _is_command_boundary(char: str) -> bool:
    # Mirrors tdlib's match_bot_commands: a command may not touch word characters or / < >.
    return char == "" or not (_is_word_character(char) or char in "/<>")


def find_bot_commands(text: str) -> list[JsonDict]:
    """``bot_command`` entities for ``text``, found the way Telegram's servers find them.

    Telegram marks every ``/command`` (optionally ``/command@botname``) that is not glued to
    a word, anywhere in the text; PTB's CommandHandler relies on the one at offset 0.
    """
    entities: list[JsonDict] = []
    size = len(text)
    # Command characters never include "/", so trying every slash equals tdlib's scan.
    for start in (i for i, char in enumerate(text) if char == "/"):
        if start > 0 and not _is_command_boundary(text[start - 1]):
            continue
        end = start + 1
        while end < size and _is_command_char(text[end]):
            end += 1
        if not 1 <= end - start - 1 <= 64:
            continue
        if end < size and text[end] == "@":
            mention_end = end + 1
            while mention_end < size and _is_command_char(text[mention_end]):
                mention_end += 1
            if not 3 <= mention_end - end - 1 <= 32:
                continue
            end = mention_end
        if _is_command_boundary(text[end] if end < size else ""):
            entities.append(
                {
                    "type": "bot_command",
                    "offset": utf16_len(text[:start]),
                    "length": utf16_len(text[start:end]),
                }
            )
    return entities


def entity_span(entity: JsonDict) -> tuple[int, int]:
    return int(entity["offset"]), int(entity["offset"]) + int(entity["length"])


# tdlib's MessageEntity::get_type_priority: the tie-breaker for entities with the same span.
_ENTITY_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}


def sort_entities(entities: list[JsonDict]) -> list[JsonDict]:
    # Telegram orders entities by offset, longer (outer) ones first, then by type priority.
    return sorted(
        entities,
        key=lambda e: (int(e["offset"]), -int(e["length"]), _ENTITY_PRIORITY.get(e["type"], 50)),
    )


def add_bot_commands(text: str, entities: list[JsonDict]) -> list[JsonDict]:
    """Adds Telegram's automatically detected commands, except inside code and pre blocks."""
    verbatim = [entity_span(e) for e in entities if e["type"] in ("code", "pre")]
    detected = [
        command
        for command in find_bot_commands(text)
        if not any(
            start < entity_span(command)[1] and entity_span(command)[0] < end
            for start, end in verbatim
        )
    ]
    return sort_entities([*entities, *detected]) if detected else entities


def strip_text(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Trims surrounding whitespace as Telegram does, moving and clipping entities along."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    limit = utf16_len(stripped)
    result: list[JsonDict] = []
    for entity in entities:
        start, end = entity_span(entity)
        start, end = max(start - shift, 0), min(end - shift, limit)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def inline_buttons(reply_markup: JsonDict | None) -> list[JsonDict]:
    if not reply_markup:
        return []
    rows = reply_markup.get("inline_keyboard") or []
    return [button for row in rows for button in row]


def inline_only(reply_markup: JsonDict | None) -> JsonDict | None:
    # Only inline keyboards stay attached to a message; reply keyboards live in the client.
    if reply_markup and "inline_keyboard" in reply_markup:
        return reply_markup
    return None


_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF")


def image_size(content: bytes) -> tuple[int, int] | None:
    """Width and height of an image Telegram would accept as a photo, or ``None``."""
    if not content.startswith(_IMAGE_MAGIC):
        return None
    try:
        from PIL import Image  # matplotlib, which the bot uses for plots, depends on Pillow.

        with Image.open(io.BytesIO(content)) as image:
            image.verify()
            return int(image.width), int(image.height)
    except ImportError:
        if content.startswith(_IMAGE_MAGIC[0]) and len(content) >= 24:
            return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
        return None
    except Exception:
        return None


_FILE_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")


def file_extension(filename: str | None, default: str = "") -> str:
    match = _FILE_EXTENSION.search(filename or "")
    return match.group(0).lower() if match else default
