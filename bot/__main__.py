"""``python -m bot``: read the settings, then run the bot until stopped.

``python -m bot migrate`` and ``python -m bot healthcheck`` are the operations commands
of :mod:`bot.ops` (database URL only: no token, no torch).

A start-up failure is one line on stderr (``error: ...``) and an exit status: 2 for a
setting or a file the operator must fix, 1 for a Bot API that stayed unreachable (see
bot/ops/startup.py). Anything unexpected is printed by the redacting hooks of bot/settings/crash.py,
installed first, so not even a bug can print the token.
"""

from __future__ import annotations

import asyncio
import os
import sys

from bot import __version__
from bot.settings import crash
from bot.settings.config import ConfigError, load_settings
from bot.settings.redact import redact, register_secret

OPS_COMMANDS = ("migrate", "healthcheck")


def _fail(line: str, code: int) -> int:
    crash.say(f"error: {redact(line)}")  # a JSON object when LOG_FORMAT=json
    return code


def main(argv: list[str] | None = None) -> int:
    crash.install()
    # Before the settings are read, so that a malformed setting is JSON too (a LOG_FORMAT
    # only in .env takes effect once they are).
    crash.use_json(os.environ.get("LOG_FORMAT", "").strip().lower() == "json")
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        print(f"charlstm-bot {__version__}")
        return 0
    if args and args[0] in OPS_COMMANDS:
        # Imported here so that the ops commands load neither torch nor telegram.
        from bot.ops import cli as ops

        return ops.main(args)
    if args:
        usage = f"usage: python -m bot [--version | {' | '.join(OPS_COMMANDS)} [--url URL]]"
        print(usage, file=sys.stderr)
        return 2

    try:
        settings = load_settings()
    except ConfigError as exc:
        return _fail(str(exc), 2)
    register_secret(settings.token)

    from model.gc_policy import collector_paused

    with collector_paused():  # torch, telegram, SQLAlchemy: see model/gc_policy.py
        from bot.ops.startup import StartupError
        from bot.runner import serve
        from bot.settings.logging_setup import setup_logging
        from model.errors import ModelError

    setup_logging(settings.log_level, settings.token, settings.log_format)
    try:
        asyncio.run(serve(settings))
    except StartupError as exc:
        return _fail(str(exc), exc.exit_code)
    except ModelError as exc:  # e.g. an unreadable corpus for the first training
        return _fail(str(exc), 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
