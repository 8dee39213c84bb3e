"""Logging that can never print the bot token.

The token is part of every Bot API URL, and httpx logs those URLs (INFO and DEBUG), so
redaction happens in the handler's formatter: every line, traceback included, is
scrubbed after formatting, whatever logger produced it.
"""

from __future__ import annotations

import logging
import re
import sys

REDACTED = "[BOT_TOKEN]"
_TOKEN_SHAPE = re.compile(r"\b\d{3,20}:[A-Za-z0-9_-]{30,}\b")


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        # Also anything shaped like a token (another bot's, or one from a stale .env).
        return _TOKEN_SHAPE.sub(REDACTED, text)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def setup_logging(level: str, token: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter(
            [token] if token else [], "%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # One line per HTTP request is noise at INFO; keep it for DEBUG (redacted).
    if logging.getLevelName(level) > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpcore").setLevel(logging.WARNING)
