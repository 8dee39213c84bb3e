"""Parsing what users type: temperatures in any common notation, command arguments."""

from __future__ import annotations

import math
import re
import unicodedata

from telegram import Message, MessageEntity

# Arabic-Indic and Persian digits, and the Arabic decimal separator / comma.
_DIGITS = str.maketrans(
    {
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
        "\u066b": ".",  # Arabic decimal separator
        "\u060c": ".",  # Arabic comma, typed as a decimal comma on Arabic keyboards
        ",": ".",
        "\u066c": "",  # Arabic thousands separator
        "\u2212": "-",  # minus sign
    }
)
# Deliberately no exponent, "nan" or "inf": those are refused as not numbers.
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


class NotANumber(ValueError):
    pass


def parse_number(text: str) -> float:
    """Parse ``0.8``, ``0,8``, ``٠٫٨``, ``۰٫۸``; raise NotANumber otherwise."""
    # No space inside: "10 20" is two numbers, not 1020.
    cleaned = text.strip().translate(_DIGITS)
    if not _NUMBER.match(cleaned):
        raise NotANumber(text)
    value = float(cleaned)
    if not math.isfinite(value):
        raise NotANumber(text)
    return value


MAX_ID = 2**63 - 1  # ids are stored in 64-bit signed columns (BIGINT)


class NotAnId(ValueError):
    pass


def parse_id(text: str) -> int:
    """A positive 64-bit id written in decimal digits of any script (``12``, ``١٢``,
    ``１２``), optionally after ``#``; raise NotAnId otherwise.

    ``str.isdecimal`` (not ``isdigit``) so superscripts such as ``²`` are refused; the
    digits are mapped to ASCII by their Unicode decimal value before ``int``, and the
    range is checked so that no database ever sees an integer it cannot store.
    """
    cleaned = text.strip().removeprefix("#")
    if not cleaned or len(cleaned) > 19 or not cleaned.isdecimal():
        raise NotAnId(text)
    value = int("".join(str(unicodedata.decimal(ch)) for ch in cleaned))
    if not 1 <= value <= MAX_ID:
        raise NotAnId(text)
    return value


def command_argument(message: Message) -> str:
    """Text after the leading command, with its line breaks and inner spacing intact.

    ``context.args`` splits on whitespace and would lose the seed's own newlines.
    """
    text = message.text or message.caption or ""
    entities = message.entities or message.caption_entities or ()
    for entity in entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            return text[entity.length :].strip()
    return text.partition(" ")[2].strip() if text.startswith("/") else text.strip()


def format_temperature(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = 4096) -> list[str]:
    """Split into chunks Telegram accepts (its limit counts UTF-16 code units).

    Prefers to cut after a newline, then after a space, so words stay whole.
    """
    chunks: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        # Largest prefix within the limit (characters outside the BMP count twice).
        end, units = 0, 0
        for ch in rest:
            size = 2 if ord(ch) > 0xFFFF else 1
            if units + size > limit:
                break
            units += size
            end += 1
        cut = rest.rfind("\n", 0, end)
        if cut < end // 2:
            cut = rest.rfind(" ", 0, end)
        cut = cut + 1 if cut >= end // 2 else end
        chunks.append(rest[:cut])
        rest = rest[cut:]
    if rest.strip() or not chunks:
        chunks.append(rest)
    return [c for c in chunks if c.strip()] or [text[:limit]]
