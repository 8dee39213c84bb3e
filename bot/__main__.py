"""``python -m bot``: read the settings, then run the bot until stopped."""

from __future__ import annotations

import asyncio
import sys

from bot.config import ConfigError, load_settings
from bot.logging_setup import setup_logging
from bot.runner import serve
from model.errors import ModelError


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.token)
    try:
        asyncio.run(serve(settings))
    except ModelError as exc:  # e.g. an unreadable corpus for the first training
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
