#!/bin/sh
# Container entry point: bring the database schema to head, then exec the command
# (by default `python -m bot`), which replaces this shell so that SIGTERM reaches it.
#
#   docker compose run --rm bot python -m model eval --checkpoint var/checkpoints/default.pt \
#       --corpus data/arabic_text.txt        # any command: migrations run first
#   SKIP_MIGRATIONS=1                        # skip them (e.g. a replica started after another)
set -eu

if [ "$#" -eq 0 ]; then
    set -- python -m bot
fi

# The bot itself (the image's CMD): a bad setting is one line and exit 2, before the
# migrations log anything or create a database (docker/check_settings.py).
if [ "$#" -eq 3 ] && [ "$1" = python ] && [ "$2" = -m ] && [ "$3" = bot ]; then
    python "$(dirname "$0")/check_settings.py"
fi

if [ "${SKIP_MIGRATIONS:-0}" != "1" ]; then
    # One line: "migrated: <url without password> is at revision N", or the error.
    python -m bot.ops migrate
fi

exec "$@"
