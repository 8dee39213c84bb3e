"""Logging that can never print the bot token.

The token is part of every Bot API URL, and httpx logs those URLs (INFO and DEBUG), so
redaction happens in the handler's formatter: every line, traceback included, is
scrubbed after formatting, whatever logger produced it. What is scrubbed, and in which
encodings, is :func:`bot.settings.redact.redact`'s business.
"""

from __future__ import annotations

import logging
import sys

from bot.settings.redact import REDACTED, redact, register_secret

__all__ = ["REDACTED", "RedactingFormatter", "setup_logging"]


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        for secret in secrets:
            if secret:
                register_secret(secret)

    def redact(self, text: str) -> str:
        return redact(text)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


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
    # warnings.warn(...) text goes through the same formatter instead of straight to stderr.
    logging.captureWarnings(True)
    # One line per HTTP request is noise at INFO; keep it for DEBUG (redacted).
    if logging.getLevelName(level) > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpcore").setLevel(logging.WARNING)
        # Alembic says which database kind it found at every start; only the steps it
        # runs ("Running upgrade a -> b") are news. A failed start stays one line.
        handler.addFilter(_alembic_preamble)


ALEMBIC_PREAMBLE = ("Context impl ", "Will assume ")


def _alembic_preamble(record: logging.LogRecord) -> bool:
    return not (
        record.name == "alembic.runtime.migration"
        and isinstance(record.msg, str)
        and record.msg.startswith(ALEMBIC_PREAMBLE)
    )
