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

if [ "${SKIP_MIGRATIONS:-0}" != "1" ]; then
    # One line: "migrated: <url without password> is at revision N", or the error.
    python -m bot.ops migrate
fi

exec "$@"
