"""Removing the bot token's secret from any text before it leaves the process.

A Bot API token is ``<bot id>:<secret>``. The id is public (it is the bot's user id);
the secret is what must never be printed. It travels in every Bot API URL, and not
always with a literal colon: python-telegram-bot percent-encodes the ``:`` in file
download URLs (``/file/bot123%3ASECRET/...``), a proxy may percent-encode the whole
path, a JSON dump may ``\\u``-escape it. So :func:`redact` matches the *secret itself*,
each of its characters either literal or escaped (``%41``, ``\\x41``, ``\\u0041``), in
either letter case (PTB lower-cases some error messages, URL included),
wherever it stands, and replaces it; a token-shaped string of some other bot (a stale
``.env``) is replaced too.

The secrets are registered once, process-wide (:func:`register_secret`), by whoever
reads the settings; everything that writes text out calls :func:`redact`: the logging
formatter (bot/settings/logging_setup.py), the last-resort exception hooks
(bot/settings/crash.py), and the HTTP request layer that sends message text to Telegram
(bot/telegram/request.py).
"""

from __future__ import annotations

import re
import threading

REDACTED = "[BOT_TOKEN]"

# Another token's shape: the id, a colon (literal or percent-encoded), 30+ secret characters.
_TOKEN_SHAPE = re.compile(r"\b\d{3,20}(?::|%3[Aa])[A-Za-z0-9_-]{30,}")

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def _escaped(char: str) -> str:
    """A regex matching ``char`` literally or in any escaped form."""
    code = ord(char)
    forms = [re.escape(char), f"%{code:02x}", rf"\\x{code:02x}", rf"\\u{code:04x}"]
    return "(?:" + "|".join(forms) + ")"


def _secret_part(token: str) -> str:
    """The part after the colon; the whole string when it has none."""
    return token.split(":", 1)[1] if ":" in token else token


def register_secret(token: str) -> None:
    """Make :func:`redact` remove ``token``'s secret part from now on (idempotent)."""
    global _pattern
    secret = _secret_part(token.strip())
    if len(secret) < 8:  # too short to be a token's secret; matching it would mangle text
        return
    with _lock:
        if secret in _secrets:
            return
        _secrets.add(secret)
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        # Case-insensitive: PTB rewrites the case of some error messages ("Bad Request:
        # ..." comes back lower-cased), and a 30+ character secret stays unambiguous.
        _pattern = re.compile(
            "|".join("".join(_escaped(c) for c in s) for s in ordered), re.IGNORECASE
        )


def forget_secrets() -> None:
    """For tests: drop every registered secret."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None


def redact(text: str) -> str:
    """``text`` without any registered secret (in any encoding) or token-shaped string."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _TOKEN_SHAPE.sub(REDACTED, text)
