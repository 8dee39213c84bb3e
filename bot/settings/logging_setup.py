"""Logging that can never print the bot token, as text lines or JSON objects.

The token is part of every Bot API URL, and httpx logs those URLs (INFO and DEBUG), so
redaction happens in the handler's formatter: every line, traceback included, is
scrubbed after formatting, whatever logger produced it. What is scrubbed, and in which
encodings, is :func:`bot.settings.redact.redact`'s business.

``LOG_FORMAT=json`` writes one JSON object per line (python-json-logger): the time,
level, logger and message, the traceback as ``exc_info``, whatever a call passed as
``extra`` (``latency_ms``, ``model_version``) and, while an update is being handled,
its ``update_id``, ``user_id`` and ``chat_type`` (:func:`bind_update`, set once per
update by the wiring). Every field is redacted before the object is serialised, and the
serialised line once more.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from bot.settings import crash
from bot.settings.redact import REDACTED, redact, register_secret

__all__ = ["REDACTED", "JsonRedactingFormatter", "RedactingFormatter", "setup_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"

# The update being handled in this task (PTB handles each update in a task of its own,
# so a context variable follows it through every await).
_update_fields: ContextVar[dict[str, Any] | None] = ContextVar("log_update", default=None)


def bind_update(update_id: int | None, user_id: int | None, chat_type: str | None) -> None:
    """Name the update this task handles in every JSON record logged from here on."""
    fields = {"update_id": update_id, "user_id": user_id, "chat_type": chat_type}
    _update_fields.set({k: v for k, v in fields.items() if v is not None})


def _scrub(value: Any) -> Any:
    """``value`` with every string in it (keys too, nested) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_scrub(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))  # anything else is written as its text anyway


class JsonRedactingFormatter(JsonFormatter):
    """One JSON object per record; every field goes through the redaction."""

    def __init__(self) -> None:
        super().__init__(JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"})

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for key, value in (_update_fields.get() or {}).items():
            log_data.setdefault(key, value)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {redact(str(k)): _scrub(v) for k, v in log_data.items()}

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


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


def setup_logging(level: str, token: str | None = None, log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if token:
        register_secret(token)
    formatter: logging.Formatter = (
        JsonRedactingFormatter() if log_format == "json" else RedactingFormatter([], TEXT_FORMAT)
    )
    handler.setFormatter(formatter)
    crash.use_json(log_format == "json")  # the last-resort reports match the log lines
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
