"""Last-resort handlers: nothing uncaught reaches Python's default printers unredacted.

Python prints an uncaught exception itself in four places: the main thread
(``sys.excepthook``), other threads (``threading.excepthook``), exceptions it cannot
raise anywhere (``sys.unraisablehook``, e.g. in ``__del__``), and asyncio's loop
exception handler (a task nobody awaited). Each would print the exception's message
verbatim, and PTB puts the full token into one (``InvalidToken: The token `...` was
rejected``). These replacements format the same report and pass it through
:func:`bot.settings.redact.redact` first. Expected failures never get here: start-up turns them
into one line (bot/ops/startup.py); this is for the ones nobody expected.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from bot.settings.redact import redact

log = logging.getLogger("bot.settings.crash")


# LOG_FORMAT=json: these reports are JSON objects too, so a log store that parses every
# line of the bot's output parses a crash as well.
_json = False


def use_json(on: bool = True) -> None:
    global _json
    _json = on


def _as_json(text: str) -> str:
    first, _, rest = text.strip("\n").partition("\n")
    record = {
        "asctime": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": "CRITICAL",
        "logger": log.name,
        "message": first,
    }
    if rest:
        record["exc_info"] = rest
    return json.dumps(record, ensure_ascii=False) + "\n"


def _write(text: str) -> None:
    try:
        sys.stderr.write(redact(_as_json(text) if _json else text))
        sys.stderr.flush()
    except Exception:  # stderr closed: nothing left to tell anyone
        pass


def say(line: str) -> None:
    """One line on stderr (a failed start's), redacted, as JSON when logs are JSON."""
    _write(line.rstrip("\n") + "\n")


def _report(
    exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None
) -> str:
    return "".join(traceback.format_exception(exc_type, exc, tb))


def excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        _write("interrupted\n")
        return
    _write("uncaught exception (a bug; please report it):\n" + _report(exc_type, exc, tb))


def thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    _write(
        f"uncaught exception in thread {name}:\n"
        + _report(args.exc_type, args.exc_value, args.exc_traceback)
    )


def unraisablehook(args: Any) -> None:
    where = f"{args.err_msg or 'Exception ignored in'}: {args.object!r}"
    _write(where + "\n" + _report(args.exc_type, args.exc_value, args.exc_traceback))


def loop_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Like asyncio's default handler, but the text is redacted before it is logged."""
    message = str(context.get("message") or "unhandled exception in the event loop")
    exc = context.get("exception")
    if isinstance(exc, BaseException):
        message += "\n" + _report(type(exc), exc, exc.__traceback__)
    log.error("%s", redact(message))


def install() -> None:
    """Replace the process-wide printers (idempotent)."""
    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
    sys.unraisablehook = unraisablehook


def install_on_loop(loop: asyncio.AbstractEventLoop) -> None:
    loop.set_exception_handler(loop_exception_handler)
