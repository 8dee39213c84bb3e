"""``python -m bot``: read the settings, then run the bot until stopped.

``python -m bot migrate`` and ``python -m bot healthcheck`` are the operations commands
of :mod:`bot.ops` (database URL only: no token, no torch).
"""

from __future__ import annotations

import asyncio
import sys

from bot.config import ConfigError, load_settings

OPS_COMMANDS = ("migrate", "healthcheck")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in OPS_COMMANDS:
        # Imported here so that the ops commands load neither torch nor telegram.
        from bot import ops

        return ops.main(args)
    if args:
        print(f"usage: python -m bot [{' | '.join(OPS_COMMANDS)}] [--url URL]", file=sys.stderr)
        return 2

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    from bot.logging_setup import setup_logging
    from bot.runner import serve
    from model.errors import ModelError

    setup_logging(settings.log_level, settings.token)
    try:
        asyncio.run(serve(settings))
    except ModelError as exc:  # e.g. an unreadable corpus for the first training
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
