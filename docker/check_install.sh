#!/usr/bin/env bash
# The image's install steps, without a Docker engine: a clean virtualenv, the same
# docker/install.sh commands the Dockerfile runs, then what the container does first
# (import the bot and the model, migrate, healthcheck) from a copy of the build context.
#
#   bash docker/check_install.sh            # TORCH_SPEC=torch==2.13.0 (the CPU wheel CI uses)
#   TORCH_SPEC="torch>=2.2,<3" bash docker/check_install.sh   # what the default image takes
#
# Not covered (needs an engine): the base image itself, the non-root user, the volume.
set -euo pipefail
cd "$(dirname "$0")/.."

export TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
export TORCH_INDEX="${TORCH_INDEX:-}"
PYTHON="${PYTHON:-python3}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "check_install: clean venv, TORCH_SPEC=$TORCH_SPEC${TORCH_INDEX:+, TORCH_INDEX=$TORCH_INDEX}"
"$PYTHON" -m venv "$WORK/venv"
export VIRTUAL_ENV="$WORK/venv" PATH="$WORK/venv/bin:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# The Dockerfile's two install layers, as it runs them.
sh docker/install.sh torch >"$WORK/pip-torch.log" 2>&1 || { cat "$WORK/pip-torch.log"; exit 1; }
sh docker/install.sh deps pyproject.toml >"$WORK/pip-deps.log" 2>&1 \
    || { cat "$WORK/pip-deps.log"; exit 1; }
pip check

# What the image copies into /app, less what .dockerignore keeps out (tests, local state).
APP="$WORK/app"
mkdir -p "$APP"
cp -R alembic.ini pyproject.toml bot model migrations data docker "$APP/"
find "$APP" -name __pycache__ -prune -exec rm -rf {} +

cd "$APP"
export PYTHONPATH="$APP" DATABASE_URL="sqlite+aiosqlite:///var/bot.db"
unset SKIP_MIGRATIONS
python -c "import bot.app, bot.ops, model.engine, asyncpg, aiosqlite; print('check_install: imports ok')"
# The entry point: migrations, then the command it is given.
./docker/entrypoint.sh python -c "print('check_install: entrypoint ran the command')"
python -m bot.ops healthcheck
echo "check_install: ok"
