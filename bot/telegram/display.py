"""Making stored or user-typed text safe to show back in Telegram.

A seed may hold anything a client can send: NUL and other C0/C1 controls, bidi overrides
(U+202E turns the rest of a line around), zero-width characters, line and paragraph
separators. Echoed back as typed they hide or reorder what an admin or user reads, and a
newline in a seed breaks a numbered list. Everything such text shows is passed through
here: invisible and control characters become visible escapes (``\\u202e``), so nothing is
hidden and nothing is silently lost; newlines stay where a layout allows them and become
``⏎`` inside one-line list entries.

The escape form is the Python/JSON one (backslash, ``u``, four hex digits; ``\\U`` and
eight for characters outside the BMP), which admins can search for in an export.
"""

from __future__ import annotations

import unicodedata

NEWLINE_MARK = "⏎"
# Categories that are invisible or steer layout: controls, format characters (bidi,
# zero-width, BOM, ...), line/paragraph separators, surrogates, private use, unassigned.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _visible(ch: str, keep_newlines: bool) -> str:
    if ch == "\n":
        return "\n" if keep_newlines else NEWLINE_MARK
    if ch == "\t":
        return "\t" if keep_newlines else " "
    if unicodedata.category(ch) in _HIDDEN_CATEGORIES:
        return _escape(ch)
    return ch


def printable(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with every hidden or control character shown as an escape; newlines
    (and tabs) kept, or, with ``keep_newlines=False``, shown as ``⏎`` (and a space)."""
    if text.isprintable() and (keep_newlines or "\n" not in text):
        return text  # the common case, without building a new string
    return "".join(_visible(ch, keep_newlines) for ch in text)


def one_line(text: str, limit: int) -> str:
    """A printable one-line excerpt of at most ``limit`` characters of ``text`` (cut
    before escaping, so an escape is never cut in half), with ``…`` when cut."""
    cut = text if len(text) <= limit else text[:limit]
    shown = printable(cut, keep_newlines=False)
    return shown if cut is text else shown + "…"
