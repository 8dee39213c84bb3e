"""The one place the Application is built and its handlers wired."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, BotCommandScopeDefault
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
)

from bot.bootstrap import ensure_active_model
from bot.config import Settings
from bot.handlers import user
from bot.handlers.errors import on_error
from bot.services import KEY, Services, set_services
from bot.storage import Storage
from bot.texts import LANGUAGES, t
from model.engine import GenerationEngine

log = logging.getLogger(__name__)

AppType = Application[Any, Any, Any, Any, Any, Any]

USER_COMMANDS = ("write", "temp", "history", "forget", "help")


async def set_commands(application: AppType) -> None:
    for lang in LANGUAGES:
        commands = [BotCommand(name, t(lang, f"cmd_{name}")) for name in USER_COMMANDS]
        await application.bot.set_my_commands(
            commands, scope=BotCommandScopeDefault(), language_code=None if lang == "en" else lang
        )


async def on_startup(application: AppType) -> None:
    settings: Settings = application.bot_data["settings"]
    storage = await Storage.open(settings.database_url, migrate=True)
    try:
        checkpoint, version = await ensure_active_model(settings, storage)
        engine = GenerationEngine(
            checkpoint, version, max_batch=settings.max_batch, max_queue=settings.max_queue
        )
        await engine.start()
    except BaseException:
        await storage.close()
        raise
    set_services(application, Services(settings=settings, storage=storage, engine=engine))
    await set_commands(application)
    log.info("ready: model version %s on %s", version, engine.device)


async def on_shutdown(application: AppType) -> None:
    services = application.bot_data.pop(KEY, None)
    if not isinstance(services, Services):
        return
    settings = services.settings
    await services.engine.stop(drain=True, timeout=settings.shutdown_grace_s)
    await services.storage.close()
    log.info("stopped cleanly")


def build_application(settings: Settings) -> AppType:
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_base_file_url)
        .concurrent_updates(settings.max_concurrent_updates)
        .connection_pool_size(64)
        .pool_timeout(30.0)
        .post_init(on_startup)
        .post_shutdown(on_shutdown)
    )
    if settings.rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    application = builder.build()
    application.bot_data["settings"] = settings
    application.add_handler(CommandHandler("start", user.start))
    application.add_handler(CommandHandler("help", user.help_command))
    application.add_handler(CommandHandler("write", user.write))
    application.add_handler(CommandHandler("temp", user.temp))
    application.add_handler(CommandHandler("history", user.history))
    application.add_handler(CommandHandler("forget", user.forget))
    application.add_handler(CallbackQueryHandler(user.forget_button, pattern=r"^forget:"))
    application.add_error_handler(on_error)
    return application
