"""The one place the Application is built and its handlers wired."""

from __future__ import annotations

import logging
import os
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.cluster import locks
from bot.cluster import runtime as cluster_runtime
from bot.cluster.locks import advisory_lock
from bot.handlers import access as access_handlers
from bot.handlers import admin, buttons, fallback, inline, user
from bot.handlers import retrain as retrain_handlers
from bot.handlers.errors import on_error
from bot.metrics import engine as engine_metrics
from bot.ops.bootstrap import ensure_active_model, tell_admins
from bot.retrain.manager import RetrainManager
from bot.rules import access as access_control
from bot.settings.config import Settings
from bot.settings.logging_setup import bind_update
from bot.storage import Storage
from bot.telegram.commands import CaptionCommand
from bot.telegram.outgoing import FairRateLimiter
from bot.telegram.request import RedactingRequest, tls_context
from bot.telegram.services import KEY, Services, set_services
from bot.texts import LANGUAGES, t
from bot.texts.worded import Worded
from model.engine import GenerationEngine

log = logging.getLogger(__name__)

AppType = Application[Any, Any, Any, Any, Any, Any]

USER_COMMANDS: tuple[str, ...] = ("write", "temp", "history", "forget", "help")
USER_COMMANDS += ("length",)
# ASCII digits of bounded length: a forged callback cannot reach int() or the database
# with a number they cannot hold.
GENERATIONS_PAGE = r"^gen:[0-9]{1,9}:(-|[0-9]{1,19}):(-|[0-9]{1,19})$"
ADMIN_COMMANDS: tuple[str, ...] = ("retrain", "models", "use", "generations", "export", "stats")
ADMIN_COMMANDS += ("allow", "block", "unblock", "users")  # access control
ADMIN_COMMANDS += ("pin", "unpin")  # model versions kept whatever the retention


async def set_commands(application: AppType) -> None:
    for lang in LANGUAGES:
        commands = [BotCommand(name, t(lang, f"cmd_{name}")) for name in USER_COMMANDS]
        await application.bot.set_my_commands(
            commands, scope=BotCommandScopeDefault(), language_code=None if lang == "en" else lang
        )
    settings: Settings = application.bot_data["settings"]
    admin_menu = [
        BotCommand(name, t("en", f"cmd_{name}")) for name in USER_COMMANDS + ADMIN_COMMANDS
    ]
    for admin_id in sorted(settings.admin_ids):
        try:
            await application.bot.set_my_commands(admin_menu, scope=BotCommandScopeChat(admin_id))
        except TelegramError as exc:  # e.g. the admin has not opened a chat with the bot yet
            log.info("no admin command menu for %s: %s", admin_id, exc)
    # the admin menu in the other languages too (an Arabic admin reads Arabic).
    for lang in LANGUAGES:
        if lang == "en" or not settings.admin_ids:
            continue
        menu = [BotCommand(name, t(lang, f"cmd_{name}")) for name in USER_COMMANDS + ADMIN_COMMANDS]
        for admin_id in sorted(settings.admin_ids):
            try:
                await application.bot.set_my_commands(
                    menu, scope=BotCommandScopeChat(admin_id), language_code=lang
                )
            except TelegramError as exc:
                log.info("no %s admin command menu for %s: %s", lang, admin_id, exc)


async def on_startup(application: AppType) -> None:
    settings: Settings = application.bot_data["settings"]
    storage = await Storage.open(
        settings.database_url, migrate=True, busy_timeout_s=settings.sqlite_busy_timeout_s
    )
    try:
        notices: list[Worded] = []  # e.g. a corrupt active model; told to admins
        # of replicas starting together on a fresh database, one trains and
        # registers the default model; the others wait here, then load that version.
        async with advisory_lock(storage.session_maker.kw["bind"], locks.DEFAULT_MODEL):
            checkpoint, version = await ensure_active_model(settings, storage, notices)
        engine = GenerationEngine(
            checkpoint, version, max_batch=settings.max_batch, max_queue=settings.max_queue
        )
        await engine.start()
        engine_metrics.watch(engine)  # its counters, read when Prometheus scrapes
    except BaseException:
        await storage.close()
        raise
    retrain = RetrainManager(settings, storage, engine, application.bot, (checkpoint, version))
    # runs left by a previous process (failed, resumed or announced), stale
    # temporary files, and checkpoints/corpora nothing refers to.
    await retrain.recover()
    set_services(
        application,
        Services(settings=settings, storage=storage, engine=engine, retrain=retrain),
    )
    await access_control.start(application.bot_data[KEY])  # before any update
    await cluster_runtime.start(application.bot_data[KEY])  # heartbeat, versions
    await set_commands(application)
    await tell_admins(application.bot, settings, storage, notices)
    log.info("ready: model version %s on %s", version, engine.device)


async def on_shutdown(application: AppType) -> None:
    services = application.bot_data.pop(KEY, None)
    if not isinstance(services, Services):
        return
    settings = services.settings
    await cluster_runtime.stop(services)
    if services.retrain is not None:
        await services.retrain.shutdown()
    await services.engine.stop(drain=True, timeout=settings.shutdown_grace_s)
    engine_metrics.forget(services.engine)
    await services.storage.close()
    log.info("stopped cleanly")


# Before every other group (the access gate is -1): the fields hold from the first record.
LOG_FIELDS_GROUP = -2


async def _bind_log_fields(update: Update, context: Any) -> None:
    chat = update.effective_chat
    user = update.effective_user
    bind_update(update.update_id, user.id if user else None, chat.type if chat else None)


def build_application(settings: Settings) -> AppType:
    # PTB 22 warns on every flood-control answer until time periods are timedeltas, its
    # next major version's behaviour; opt in (our code reads both: retry_after_seconds).
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_base_file_url)
        .concurrent_updates(settings.max_concurrent_updates)
        # the token's secret is redacted from every parameter the bot sends.
        .request(RedactingRequest(connection_pool_size=64, pool_timeout=30.0))
        # getUpdates stays on PTB's httpx client (its builder's default, one connection),
        # with the process's TLS context instead of a bundle read for each client
        .get_updates_request(
            HTTPXRequest(connection_pool_size=1, httpx_kwargs={"verify": tls_context()})
        )
        .post_init(on_startup)
        .post_shutdown(on_shutdown)
    )
    if settings.rate_limit:
        # per-chat pacing (Telegram's limits) and quiet chats before flooders.
        limiter: Any = FairRateLimiter(max_retries=3)  # typed for the builder's generics
        builder = builder.rate_limiter(limiter)
    application = builder.build()
    application.bot_data["settings"] = settings
    # New messages only, but for /write below: an edit is no new command.
    new = filters.UpdateType.MESSAGE
    commands = {
        "start": user.start,
        "help": user.help_command,
        "write": user.write,
        "temp": user.temp,
        "history": user.history,
        "forget": user.forget,
        "retrain": retrain_handlers.retrain,
        "models": admin.models,
        "use": admin.use,
        "pin": admin.pin,
        "unpin": admin.unpin,
        "generations": admin.generations,
        "export": admin.export,
        "stats": admin.stats,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=new))
    # An edited /write is how users fix a typo: it asks for a new text (its own update,
    # so its own row, counted by the limits like any /write); the old text stays.
    application.add_handler(
        CommandHandler("write", user.write, filters=filters.UpdateType.EDITED_MESSAGE)
    )
    # A document whose caption is the command: CommandHandler only looks at message text.
    # the caption honours "@thisbot" exactly as CommandHandler does.
    application.add_handler(
        MessageHandler(
            new & filters.Document.ALL & CaptionCommand("retrain"), retrain_handlers.retrain
        )
    )
    # a photo or document captioned "/write <seed>" is a /write.
    application.add_handler(
        MessageHandler(new & filters.CAPTION & CaptionCommand("write"), user.write)
    )
    application.add_handler(CallbackQueryHandler(user.forget_button, pattern=r"^forget:"))
    application.add_handler(
        CallbackQueryHandler(
            retrain_handlers.retrain_button, pattern=r"^rt:force:\d+(?::(?:finetune|fresh))?$"
        )
    )
    application.add_handler(
        CallbackQueryHandler(admin.version_button, pattern=r"^mv:(use|discard):\d+$")
    )
    application.add_handler(
        CallbackQueryHandler(admin.generations_button, pattern=GENERATIONS_PAGE)
    )
    # unknown commands and plain text, in a late group so every handler others
    # add in earlier groups wins (see bot/handlers/fallback.py).
    application.add_handler(
        MessageHandler(new & filters.COMMAND, fallback.unknown_command), fallback.FALLBACK_GROUP
    )
    application.add_handler(
        MessageHandler(new & filters.TEXT & ~filters.COMMAND, fallback.plain_text),
        fallback.FALLBACK_GROUP,
    )
    # --- every log record while an update is handled names it (LOG_FORMAT=json).
    application.add_handler(TypeHandler(Update, _bind_log_fields), group=LOG_FIELDS_GROUP)
    # --- fair use: the access gate runs before every other handler.
    application.add_handler(TypeHandler(Update, access_control.gate), group=-1)
    for name, callback in {
        "allow": access_handlers.allow,
        "block": access_handlers.block,
        "unblock": access_handlers.unblock,
        "users": access_handlers.users,
    }.items():
        application.add_handler(CommandHandler(name, callback, filters=new))
    application.add_handler(
        CallbackQueryHandler(access_handlers.users_button, pattern=r"^users:[ab]:\d{1,9}$")
    )
    # --- the writing experience: buttons under every text, /length
    application.add_handler(CommandHandler("length", user.length, filters=new))
    application.add_handler(CallbackQueryHandler(buttons.press, pattern=buttons.PATTERN))
    application.add_handler(InlineQueryHandler(inline.inline_query))
    application.add_handler(ChosenInlineResultHandler(inline.chosen))
    application.add_error_handler(on_error)
    return application
