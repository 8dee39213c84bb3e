"""Read the bot's settings the way ``python -m bot`` does, before the entry point migrates.

``docker run`` without ``BOT_TOKEN`` (or with any bad setting) must show the operator the
one line that names it, and exit 2, as ``python -m bot`` does outside a container. The
entry point migrates first, though, and migrations log several lines and create the
SQLite file, all for nothing. So the entry point runs this check before migrating, when
its command is the bot itself (other commands, e.g. ``python -m model eval``, need no
token).

    python docker/check_settings.py     # silent and 0 when the bot would start
"""

from __future__ import annotations

import sys

from bot.settings.config import ConfigError, load_settings


def main() -> int:
    try:
        load_settings()
    except ConfigError as exc:  # one line, never the token (ConfigError's contract)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
