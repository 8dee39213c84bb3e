"""``python -m bot.trainer``: run a trainer until SIGTERM/SIGINT.

It reads the same settings as the bot (DATABASE_URL, CHECKPOINT_DIR, CORPUS_DIR,
RETRAIN_*, DEVICE, TRAINING_LEASE_S), but never the bot token: it talks to the
database only, so it is given a placeholder and the real one never reaches it. A bad
setting is one line naming it, exit status 2.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from bot.settings import crash
from bot.settings.config import (
    POSTGRES_EXTRA_HINT,
    ConfigError,
    Settings,
    load_settings,
    missing_module,
)

# The trainer never talks to Telegram; the settings object just needs a token-shaped value.
PLACEHOLDER_TOKEN = "0000000:trainer-has-no-token-trainer-has-no-token"


def _settings() -> Settings:
    settings = load_settings(bot_token=PLACEHOLDER_TOKEN)
    if not settings.database_url.startswith("postgresql"):
        raise ConfigError(
            "DATABASE_URL must be PostgreSQL (postgresql+asyncpg://...) for python -m "
            "bot.trainer: the job queue lives there"
        )
    if missing_module("pgqueuer"):
        raise ConfigError(f"python -m bot.trainer needs pgqueuer; {POSTGRES_EXTRA_HINT}")
    return settings


async def _serve(settings: Settings) -> None:
    from model.gc_policy import collector_paused, freeze_start_up_objects

    with collector_paused():  # see model/gc_policy.py
        from bot.storage import Storage
        from bot.trainer.service import Trainer, install_signal_handlers

    stop = asyncio.Event()
    install_signal_handlers(stop)
    # The bot migrates the schema (one writer of DDL); a trainer only uses it.
    storage = await Storage.open(settings.database_url, migrate=False)
    health = await _health_server(settings, storage, stop)
    freeze_start_up_objects()
    try:
        await Trainer(settings, storage).serve(stop)
    finally:
        if health is not None:
            await health.stop()
        await storage.close()


async def _health_server(settings: Settings, storage: Any, stop: asyncio.Event) -> Any:
    """/healthz, /readyz and /metrics on HEALTH_PORT (none when 0): a trainer is ready
    while its database answers at the migration head and no stop was asked for."""
    from bot import metrics
    from bot.metrics.http import HealthServer
    from bot.storage.database import schema_problems

    if not settings.health_port:
        return None

    async def problems() -> list[str]:
        if stop.is_set():
            return ["stopping"]
        return await schema_problems(storage.session_maker.kw["bind"], settings.database_url)

    server = HealthServer(problems, settings.health_listen, settings.health_port)
    await server.start()
    metrics.READY.set(1)
    return server


def main(argv: list[str] | None = None) -> int:
    crash.install()
    # A malformed setting is a JSON line too when logs are JSON (as for python -m bot).
    crash.use_json(os.environ.get("LOG_FORMAT", "").strip().lower() == "json")
    args = sys.argv[1:] if argv is None else argv
    if args:
        print(
            "usage: python -m bot.trainer (settings from the environment and .env)", file=sys.stderr
        )
        return 2
    try:
        settings = _settings()
    except ConfigError as exc:
        crash.say(f"error: {exc}")
        return 2
    from bot.settings.logging_setup import setup_logging

    setup_logging(settings.log_level, log_format=settings.log_format)
    asyncio.run(_serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
