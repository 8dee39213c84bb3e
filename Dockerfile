# syntax=docker/dockerfile:1
#
# The bot in a container. GPU by default: PyPI's torch wheel for Linux carries CUDA, so
# with the NVIDIA Container Toolkit (and docker-compose.yml's GPU reservation) the model
# runs on the GPU, and on a host without one the same image runs on the CPU.
#
#   docker build -t charlstm-bot .
#
# A CPU-only image, a fraction of the size (no CUDA libraries):
#
#   docker build -t charlstm-bot:cpu \
#       --build-arg TORCH_SPEC=torch==2.13.0 \
#       --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cpu .
#
# docs/OPERATIONS.md has the whole story (volumes, PostgreSQL, backups, upgrades).

FROM python:3.11-slim

# torch, in a layer of its own: the biggest download, and the one that changes least.
ARG TORCH_SPEC="torch>=2.2,<3"
# Empty: PyPI. https://download.pytorch.org/whl/cpu: the CPU-only build.
ARG TORCH_INDEX=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib

# The bot never runs as root. Fixed ids, so a bind-mounted var/ can be chowned to match.
RUN groupadd --system --gid 10001 bot \
    && useradd --system --uid 10001 --gid bot --create-home --home-dir /home/bot \
        --shell /usr/sbin/nologin bot

RUN python -m venv "$VIRTUAL_ENV"

# Dependencies first: editing the source reuses these layers.
COPY docker/install.sh docker/requirements.py /build/
RUN --mount=type=cache,target=/root/.cache/pip \
    TORCH_SPEC="$TORCH_SPEC" TORCH_INDEX="$TORCH_INDEX" sh /build/install.sh torch
COPY pyproject.toml /build/
RUN --mount=type=cache,target=/root/.cache/pip \
    sh /build/install.sh deps /build/pyproject.toml

# Then the source. It is run from /app, not pip-installed: the Alembic migrations and
# alembic.ini are found next to the bot package (bot/storage/database.py).
WORKDIR /app
COPY . /app
RUN chmod 0755 /app/docker/entrypoint.sh \
    && python -m compileall -q bot model migrations \
    && mkdir -p /app/var/checkpoints /app/var/corpora \
    && chown -R bot:bot /app/var

# Database (SQLite by default), checkpoints and uploaded corpora: relative paths in
# .env.example (var/bot.db, var/checkpoints, var/corpora) resolve here.
VOLUME ["/app/var"]

USER bot

# GET /healthz, /readyz and /metrics on 8081 (docs/OPERATIONS.md, "Health, metrics and
# alerts"): loopback only unless HEALTH_LISTEN says otherwise (the Compose files let
# Prometheus in on the project's network; no port is published).
ENV HEALTH_PORT=8081
EXPOSE 8081

# Healthy: the database is reachable and migrated to head, in webhook mode the webhook
# port accepts connections, and GET /readyz answers 200 (a model loaded, serving, not
# stopping). `python -m bot.ops healthcheck` prints one line, visible in `docker
# inspect`; it imports neither torch nor telegram, so running it every 30 s costs little.
HEALTHCHECK --interval=30s --timeout=15s --start-period=1m --retries=3 \
    CMD ["python", "-m", "bot.ops", "healthcheck"]

# SIGTERM lets generations in progress finish (SHUTDOWN_GRACE_S); allow for it when
# stopping: `docker stop --time 30`, or stop_grace_period in docker-compose.yml.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["python", "-m", "bot"]
