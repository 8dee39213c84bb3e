"""Telegram's ``parse_mode`` handling: HTML, Markdown (legacy) and MarkdownV2.

The parsers follow tdlib's (``td/telegram/MessageEntity.cpp``), which the Bot API server uses,
closely enough that the same input is accepted or rejected with the same error text. That is
the point of having them: a bot that forgets to escape a ``.`` in MarkdownV2 or a ``<`` in HTML
must fail here just as it would in production.

Offsets in error messages are UTF-8 byte offsets into the original text (as Telegram reports
them); entity offsets and lengths are UTF-16 code units (as the Bot API defines them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from .objects import JsonDict, sort_entities, utf16_len


class EntityParseError(ValueError):
    """The text could not be parsed; the message is tdlib's, without the Bot API prefix."""


class UnsupportedParseModeError(ValueError):
    pass


def format_text(
    text: str, parse_mode: str | None, entities: list[JsonDict] | None
) -> tuple[str, list[JsonDict]]:
    """The text as clients display it and its entities, per the request's formatting params."""
    if entities is not None:
        # Explicit entities win over parse_mode, as in the Bot API.
        return text, sort_entities([dict(entity) for entity in entities])
    if not parse_mode:
        return text, []
    parser = _PARSERS.get(parse_mode.lower())
    if parser is None:
        raise UnsupportedParseModeError(parse_mode)
    return parser(text)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _is_space(char: str) -> bool:
    # tdlib's is_space() is also true for the terminating NUL, which "" stands for here.
    return char in ("", " ", "\t", "\r", "\n", "\v")


def checked_link(url: str) -> str:
    """An approximation of tdlib's LinkManager::get_checked_link: normalised URL or ""."""
    url = url.strip()
    if not url or any(char.isspace() for char in url):
        return ""
    scheme_match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", url)
    if scheme_match:
        scheme = scheme_match.group(1).lower()
        if scheme in ("tg", "ton"):
            return url
        if scheme not in ("http", "https", "ftp"):
            return ""
    else:
        host = re.split(r"[/?#]", url, maxsplit=1)[0]
        if "." not in host.strip("."):
            return ""
        url = "http://" + url
    parts = urlsplit(url)
    if not parts.hostname:
        return ""
    return urlunsplit(parts._replace(path=parts.path or "/"))


def _char_at(text: str, index: int) -> str:
    return text[index] if index < len(text) else ""


# ---------------------------------------------------------------------------------------------
# HTML


_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """The character an HTML entity at ``pos`` stands for and the position after it."""
    end = pos + 1
    if _char_at(text, end) == "#":
        end += 1
        code = 0
        if _char_at(text, end) == "x":
            end += 1
            while re.match(r"[0-9A-Fa-f]", _char_at(text, end)):
                code = code * 16 + int(text[end], 16)
                end += 1
        else:
            while _char_at(text, end).isascii() and _char_at(text, end).isdigit():
                code = code * 10 + int(text[end])
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(code)
    else:
        while _char_at(text, end).isascii() and _char_at(text, end).isalpha():
            end += 1
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(text[pos + 1 : end])
        if named is None:
            # Telegram leaves unknown entities such as &nbsp; as literal text.
            return None
        char = named
    if _char_at(text, end) == ";":
        end += 1
    return char, end


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    out_index: int


def parse_html(text: str) -> tuple[str, list[JsonDict]]:
    out: list[str] = []
    utf16 = 0
    entities: list[JsonDict] = []
    stack: list[_OpenTag] = []
    size = len(text)
    i = 0

    def fail(message: str) -> EntityParseError:
        return EntityParseError(message)

    while i < size:
        char = text[i]
        if char == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                value, i = decoded
                if 0xD800 <= ord(value) <= 0xDFFF:
                    raise fail(
                        "Text contains invalid Unicode characters after decoding HTML entities, "
                        "check for unmatched surrogate code units"
                    )
                out.append(value)
                utf16 += utf16_len(value)
                continue
        if char != "<":
            out.append(char)
            utf16 += utf16_len(char)
            i += 1
            continue

        begin = i
        at_begin = _byte_offset(text, begin)
        i += 1
        if _char_at(text, i) != "/":
            while not _is_space(_char_at(text, i)) and _char_at(text, i) != ">":
                i += 1
            if i >= size:
                raise fail(f"Unclosed start tag at byte offset {at_begin}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise fail(f'Unsupported start tag "{tag}" at byte offset {at_begin}')
            argument = ""
            while _char_at(text, i) != ">":
                while i < size and _is_space(text[i]):
                    i += 1
                if _char_at(text, i) == ">":
                    break
                attribute_begin = i
                while not _is_space(_char_at(text, i)) and _char_at(text, i) not in ("=", ">"):
                    i += 1
                attribute = text[attribute_begin:i]
                if not attribute:
                    raise fail(f'Empty attribute name in the tag "{tag}" at byte offset {at_begin}')
                while i < size and _is_space(text[i]):
                    i += 1
                value = ""
                if _char_at(text, i) == "=":
                    i += 1
                    while i < size and _is_space(text[i]):
                        i += 1
                    if i >= size:
                        raise fail(f'Unclosed start tag "{tag}" at byte offset {at_begin}')
                    if text[i] not in "'\"":
                        # An unquoted "name token": letters, digits, periods and hyphens.
                        token_begin = i
                        while _char_at(text, i).isascii() and (
                            _char_at(text, i).isalnum() or _char_at(text, i) in ".-"
                        ):
                            i += 1
                        value = text[token_begin:i].lower()
                        if not _is_space(_char_at(text, i)) and _char_at(text, i) != ">":
                            raise fail(
                                "Unexpected end of name token at byte offset "
                                f"{_byte_offset(text, token_begin)}"
                            )
                    else:
                        quote = text[i]
                        i += 1
                        chars: list[str] = []
                        while i < size and text[i] != quote:
                            decoded = _decode_html_entity(text, i) if text[i] == "&" else None
                            if decoded is not None:
                                chars.append(decoded[0])
                                i = decoded[1]
                                continue
                            chars.append(text[i])
                            i += 1
                        if _char_at(text, i) == quote:
                            i += 1
                        value = "".join(chars)
                if i >= size:
                    raise fail(f"Unclosed start tag at byte offset {at_begin}")
                if tag == "a" and attribute == "href":
                    argument = value
                elif tag == "code" and attribute == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif (tag == "tg-emoji" and attribute == "emoji-id") or (
                    tag == "blockquote" and attribute == "expandable"
                ):
                    argument = value or attribute
            if tag == "span" and argument != "spoiler":
                raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset {at_begin}')
            stack.append(_OpenTag(tag, argument, utf16, len(out)))
            i += 1
            continue

        if not stack:
            raise fail(f"Unexpected end tag at byte offset {at_begin}")
        while not _is_space(_char_at(text, i)) and _char_at(text, i) != ">":
            i += 1
        end_tag = text[begin + 2 : i].lower()
        while i < size and _is_space(text[i]):
            i += 1
        if _char_at(text, i) != ">":
            raise fail(f"Unclosed end tag at byte offset {at_begin}")
        top = stack.pop()
        if end_tag and end_tag != top.name:
            raise fail(
                f'Unmatched end tag at byte offset {at_begin}, expected "</{top.name}>", '
                f'found "</{end_tag}>"'
            )
        if utf16 > top.utf16_offset:
            _close_html_entity(top, utf16, "".join(out[top.out_index :]), entities)
        i += 1

    if stack:
        raise fail(f"Can't find end tag corresponding to start tag {stack[-1].name}")
    for entity in entities:
        entity.pop("_language", None)
    return "".join(out), sort_entities(entities)


def _close_html_entity(
    tag: _OpenTag, utf16_end: int, inner_text: str, entities: list[JsonDict]
) -> None:
    span: JsonDict = {"offset": tag.utf16_offset, "length": utf16_end - tag.utf16_offset}
    same_span_as_last = bool(entities) and all(
        entities[-1][key] == span[key] for key in ("offset", "length")
    )
    if tag.name in _SIMPLE_HTML_TAGS:
        entities.append({"type": _SIMPLE_HTML_TAGS[tag.name], **span})
    elif tag.name == "tg-emoji":
        if not tag.argument.isdigit() or int(tag.argument) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        entities.append({"type": "custom_emoji", **span, "custom_emoji_id": tag.argument})
    elif tag.name == "a":
        url = checked_link(tag.argument or inner_text)
        if url:
            entities.append({"type": "text_link", **span, "url": url})
    elif tag.name == "pre":
        # <pre><code class="language-x"> (closed inside out) becomes one pre with a language.
        if same_span_as_last and entities[-1]["type"] == "code" and entities[-1].get("_language"):
            last = entities.pop()
            entities.append({"type": "pre", **span, "language": last["_language"]})
        else:
            entities.append({"type": "pre", **span})
    elif tag.name == "code":
        if same_span_as_last and entities[-1]["type"] == "pre" and tag.argument:
            entities[-1]["language"] = tag.argument
        else:
            entities.append({"type": "code", **span, "_language": tag.argument})
    elif tag.name == "blockquote":
        kind = "expandable_blockquote" if tag.argument else "blockquote"
        entities.append({"type": kind, **span})


# ---------------------------------------------------------------------------------------------
# Markdown (legacy)


def parse_markdown(text: str) -> tuple[str, list[JsonDict]]:
    out: list[str] = []
    utf16 = 0
    entities: list[JsonDict] = []
    size = len(text)
    i = 0
    while i < size:
        char = text[i]
        if char == "\\" and _char_at(text, i + 1) in ("_", "*", "`", "["):
            out.append(text[i + 1])
            utf16 += 1
            i += 2
            continue
        if char not in "_*`[":
            out.append(char)
            utf16 += utf16_len(char)
            i += 1
            continue

        begin = i
        end_char = "]" if char == "[" else char
        is_pre = False
        language = ""
        i += 1
        if char == "`" and _char_at(text, i) == "`" and _char_at(text, i + 1) == "`":
            i += 2
            is_pre = True
            language_end = i
            while not _is_space(_char_at(text, language_end)) and text[language_end] != "`":
                language_end += 1
            if i != language_end and language_end < size and text[language_end] != "`":
                language = text[i:language_end]
                i = language_end
            i = _skip_one_newline(text, i)

        entity_offset = utf16
        while i < size and (
            text[i] != end_char
            or (is_pre and not (_char_at(text, i + 1) == "`" and _char_at(text, i + 2) == "`"))
        ):
            out.append(text[i])
            utf16 += utf16_len(text[i])
            i += 1
        if i == size:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )

        if entity_offset != utf16:
            span: JsonDict = {"offset": entity_offset, "length": utf16 - entity_offset}
            if char == "_":
                entities.append({"type": "italic", **span})
            elif char == "*":
                entities.append({"type": "bold", **span})
            elif char == "[":
                if _char_at(text, i + 1) != "(":
                    url = text[begin + 1 : i]
                else:
                    i += 2
                    url_begin = i
                    while i < size and text[i] != ")":
                        i += 1
                    url = text[url_begin:i]
                url = checked_link(url)
                if url:
                    entities.append({"type": "text_link", **span, "url": url})
            elif is_pre:
                entities.append(
                    {"type": "pre", **span, **({"language": language} if language else {})}
                )
            else:
                entities.append({"type": "code", **span})
        if is_pre:
            i += 2
        i += 1
    return "".join(out), sort_entities(entities)


def _skip_one_newline(text: str, i: int) -> int:
    # The first line break after ``` (and its language) belongs to the markup, not the code.
    if _char_at(text, i) in ("\n", "\r"):
        following = _char_at(text, i + 1)
        if following in ("\n", "\r") and following != text[i]:
            return i + 2
        return i + 1
    return i


# ---------------------------------------------------------------------------------------------
# MarkdownV2


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!\n")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}


@dataclass
class _OpenEntity:
    kind: str
    argument: str
    utf16_offset: int
    byte_offset: int
    out_index: int

    @property
    def tdlib_name(self) -> str:
        if self.kind == "pre" and self.argument:
            return "PreCode"
        return _MDV2_NAMES[self.kind]


def _reserved(char: str) -> EntityParseError:
    return EntityParseError(
        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    )


def _is_entity_end(top: str, text: str, i: int) -> bool:
    char, following = text[i], _char_at(text, i + 1)
    match top:
        case "bold":
            return char == "*"
        case "italic":
            return char == "_" and following != "_"
        case "code":
            return char == "`"
        case "custom_emoji" | "text_link":
            return char == "]"
        case "pre":
            return char == "`" and following == "`" and _char_at(text, i + 2) == "`"
        case "underline":
            return char == "_" and following == "_"
        case "strikethrough":
            return char == "~"
        case "spoiler":
            return char == "|" and following == "|"
    return False


def _at_line_start(text: str, i: int) -> bool:
    # Carriage returns don't end a line for Telegram, so ">" may follow "\n\r\r".
    j = i - 1
    while j >= 0 and text[j] == "\r":
        j -= 1
    return j < 0 or text[j] == "\n"


def _read_markdown_url(text: str, i: int, what: str) -> tuple[str, int]:
    """Reads ``(url)`` whose ``(`` is at ``i``; returns the URL and the index of ``)``."""
    i += 1
    url_begin = i
    chars: list[str] = []
    while i < len(text) and text[i] != ")":
        following = _char_at(text, i + 1)
        if text[i] == "\\" and following and 0 < ord(following) <= 126:
            chars.append(following)
            i += 2
            continue
        chars.append(text[i])
        i += 1
    if _char_at(text, i) != ")":
        raise EntityParseError(
            f"Can't find end of {what} at byte offset {_byte_offset(text, url_begin)}"
        )
    return "".join(chars), i


def parse_markdown_v2(text: str) -> tuple[str, list[JsonDict]]:
    out: list[str] = []
    utf16 = 0
    entities: list[JsonDict] = []
    stack: list[_OpenEntity] = []
    have_blockquote = False
    size = len(text)
    i = 0
    while i < size:
        char = text[i]
        following = _char_at(text, i + 1)
        if char == "\\" and following and 0 < ord(following) <= 126:
            out.append(following)
            utf16 += 1
            i += 2
            continue

        inside_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if char not in ({"`"} if inside_code else _MDV2_RESERVED):
            out.append(char)
            utf16 += utf16_len(char)
            i += 1
            continue

        is_end = bool(stack) and (
            (have_blockquote and char == "\n" and following != ">")
            or _is_entity_end(stack[-1].kind, text, i)
        )

        if not is_end:
            byte_offset = _byte_offset(text, i)
            kind: str | None
            argument = ""
            if char == "_":
                kind = "underline" if following == "_" else "italic"
                i += 1 if following == "_" else 0
            elif char == "*":
                kind = "bold"
            elif char == "~":
                kind = "strikethrough"
            elif char == "|":
                if following != "|":
                    raise _reserved(char)
                kind = "spoiler"
                i += 1
            elif char == "[":
                kind = "text_link"
            elif char == "`":
                if following == "`" and _char_at(text, i + 2) == "`":
                    kind = "pre"
                    i += 3
                    language_end = i
                    while not _is_space(_char_at(text, language_end)) and text[language_end] != "`":
                        language_end += 1
                    if i != language_end and language_end < size and text[language_end] != "`":
                        argument = text[i:language_end]
                        i = language_end
                    i = _skip_one_newline(text, i) - 1
                else:
                    kind = "code"
            elif char == "!":
                if following != "[":
                    raise _reserved(char)
                kind = "custom_emoji"
                i += 1
            elif char == "\n":
                out.append("\n")
                utf16 += 1
                kind = None
                if following == ">":
                    i += 1
                    if not have_blockquote:
                        kind = "blockquote"
                        have_blockquote = True
            elif char == ">" and not have_blockquote and _at_line_start(text, i):
                kind = "blockquote"
                have_blockquote = True
            else:
                raise _reserved(char)
            if kind is not None:
                stack.append(_OpenEntity(kind, argument, utf16, byte_offset, len(out)))
            i += 1
            continue

        top = stack[-1]
        if char == "\n" and top.kind != "blockquote":
            raise EntityParseError(
                f"Can't find end of {top.tdlib_name} entity at byte offset {top.byte_offset}"
            )
        skip = utf16 == top.utf16_offset
        entity: JsonDict = {"type": top.kind}
        if top.kind in ("underline", "spoiler"):
            i += 1
        elif top.kind == "pre":
            i += 2
            if top.argument:
                entity["language"] = top.argument
        elif top.kind == "text_link":
            if following != "(":
                url = "".join(out[top.out_index :])
            else:
                url, i = _read_markdown_url(text, i + 1, "a URL")
            entity["url"] = checked_link(url)
            skip = skip or not entity["url"]
        elif top.kind == "custom_emoji":
            if following != "(":
                raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            url, i = _read_markdown_url(text, i + 1, "a custom emoji URL")
            entity["custom_emoji_id"] = _custom_emoji_id(url)
        elif top.kind == "blockquote":
            have_blockquote = False
            out.append(char)
            utf16 += 1
        if not skip:
            entity["offset"] = top.utf16_offset
            entity["length"] = utf16 - top.utf16_offset
            entities.append(entity)
        stack.pop()
        i += 1

    if have_blockquote and stack and stack[-1].kind == "blockquote":
        top = stack.pop()
        if utf16 != top.utf16_offset:
            entities.append(
                {
                    "type": "blockquote",
                    "offset": top.utf16_offset,
                    "length": utf16 - top.utf16_offset,
                }
            )
    if stack:
        top = stack[-1]
        raise EntityParseError(
            f"Can't find end of {top.tdlib_name} entity at byte offset {top.byte_offset}"
        )
    return "".join(out), sort_entities(entities)


def _custom_emoji_id(url: str) -> str:
    match = re.match(r"(?i)tg:(?://)?emoji/?\?(?:[^#]*&)?id=(\d+)", url)
    if match is None:
        raise EntityParseError("Custom emoji URL must have an emoji identifier")
    if match.group(1).startswith("0"):
        raise EntityParseError("Invalid custom emoji identifier specified")
    return match.group(1)


_PARSERS = {
    "html": parse_html,
    "markdown": parse_markdown,
    "markdownv2": parse_markdown_v2,
}
