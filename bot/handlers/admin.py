"""Admin commands: /models, /use, /pin, /unpin, /generations, /export, /stats (/retrain:
bot.handlers.retrain).

Admins are the numeric ids in ADMIN_IDS; usernames can change hands, ids cannot.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import tempfile
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import Forbidden, NetworkError
from telegram.ext import ContextTypes

from bot.cluster.status import replica_lines
from bot.retrain.manager import RetrainManager
from bot.rules.export import ExportTooLarge, write_export
from bot.rules.fair_use import stats_lines as fair_use_stats
from bot.storage import ModelVersion, ModelVersionPrunedError
from bot.telegram.display import one_line
from bot.telegram.parsing import NotAnId, command_argument, format_temperature, parse_id
from bot.telegram.replies import (
    answer_query,
    edit_query_text,
    lang_of,
    reply,
    reply_key,
    take_buttons,
)
from bot.telegram.services import Services, get_services
from bot.texts import t
from model.errors import ModelError

log = logging.getLogger(__name__)

UPLOAD_TIMEOUT_S = 120.0  # a 50 MB export over a slow link

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def admin_only(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        services = get_services(context)
        user = update.effective_user
        if not services.settings.is_admin(user.id if user else None):
            log.info("refused admin command from user %s", user.id if user else None)
            if update.callback_query is not None:
                await answer_query(
                    update.callback_query, t(lang_of(update), "not_allowed"), show_alert=True
                )
            else:
                await reply_key(update, "not_allowed")
            return
        await handler(update, context)

    return guarded


def retrain_manager(services: Services) -> RetrainManager:
    if services.retrain is None:
        raise RuntimeError("retraining is not initialised")
    return services.retrain


# ------------------------------------------------------------------ versions


@admin_only
async def models(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    lang = lang_of(update)
    versions = await services.storage.list_model_versions(limit=20)
    if not versions:
        await reply_key(update, "models_none")
        return
    lines = [t(lang, "models_header")]
    for v in versions:
        val = t(lang, "n_a") if v.val_loss is None else f"{v.val_loss:.4f}"
        corpus = (
            t(lang, "models_corpus", corpus=v.corpus_id)
            if v.corpus_id is not None
            else t(lang, "models_corpus_unknown")
        )
        marks = [
            t(lang, key)
            for key, on in (("models_active", v.is_active), ("models_pinned", v.pinned),
                            ("models_pruned", v.pruned_at is not None))
            if on
        ]  # fmt: skip
        lines.append(
            t(lang, "models_item", version=v.id,
              active="".join(marks),
              when=f"{v.created_at:%Y-%m-%d %H:%M}", corpus=corpus,
              chars=v.corpus_chars, vocab=v.vocab_size, val=val)
        )  # fmt: skip
    lines.append(t(lang, "models_retention", keep=services.settings.model_versions_keep))
    lines.append(t(lang, "models_footer") + " " + t(lang, "models_pin_hint"))
    lines += await replica_lines(services, lang)
    await reply(update, "\n".join(lines))


async def _changed_version(
    update: Update, version_id: int, change: Coroutine[Any, Any, ModelVersion]
) -> ModelVersion | None:
    """What ``change`` (to version ``version_id``) returns, or None once the admin is told
    that the version was pruned or does not exist."""
    try:
        return await change
    except ModelVersionPrunedError:
        await reply_key(update, "version_pruned", version=version_id)
    except LookupError:
        await reply_key(update, "use_missing", version=version_id)
    return None


async def _activate(update: Update, services: Services, raw: str) -> None:
    try:
        version_id = parse_id(raw)
    except NotAnId:
        await reply_key(update, "use_usage")
        return
    try:
        version = await _changed_version(
            update, version_id, retrain_manager(services).activate(version_id)
        )
    except ModelError as exc:
        await reply_key(update, "use_unloadable", version=version_id, error=exc)
        return
    if version is not None:
        await reply_key(update, "use_done", version=version.id)


@admin_only
async def use(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    await _activate(update, get_services(context), command_argument(message))


async def _pin(update: Update, context: ContextTypes.DEFAULT_TYPE, pinned: bool) -> None:
    message = update.effective_message
    if message is None:
        return
    try:
        version_id = parse_id(command_argument(message))
    except NotAnId:
        await reply_key(update, "pin_usage" if pinned else "unpin_usage")
        return
    manager = retrain_manager(get_services(context))
    if await _changed_version(update, version_id, manager.pin(version_id, pinned)) is not None:
        await reply_key(update, "pin_done" if pinned else "unpin_done", version=version_id)


@admin_only
async def pin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/pin <id>``: keep a version whatever the retention."""
    await _pin(update, context, pinned=True)


@admin_only
async def unpin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/unpin <id>``: the retention may prune the version again (at once if it is old)."""
    await _pin(update, context, pinned=False)


@admin_only
async def version_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    services = get_services(context)
    await answer_query(query)
    _, action, raw_id = query.data.split(":")
    if not await take_buttons(query):  # a double tap: the first press does the work
        return
    if action == "use":
        await _activate(update, services, raw_id)
        return
    try:
        await retrain_manager(services).discard(int(raw_id))
    except LookupError:  # discarded already, from another message's buttons
        await reply_key(update, "use_missing", version=raw_id)
        return
    except ValueError as exc:  # the active version (said in the admin's language)
        await reply_key(update, "discard_failed", version=raw_id, error=exc)
        return
    await reply_key(update, "discard_done", version=raw_id)


# --------------------------------------------------------------- generations


async def to_admin_privately(
    update: Update, send: Callable[[int], Coroutine[Any, Any, object]]
) -> None:
    """Run ``send(chat_id)`` in the admin's private chat. Review commands sent in a group
    (or supergroup) get only a short note there, never the data."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    if chat.type == ChatType.PRIVATE:
        await send(chat.id)
        return
    try:
        await send(user.id)
    except Forbidden:
        await reply_key(update, "review_open_private_chat")
        return
    await reply_key(update, "review_sent_privately")


def _parse_filters(raw: str) -> tuple[int | None, int | None] | None:
    """ "user 123", "model 3", both, or nothing; None when malformed."""
    words = raw.lower().split()
    user_id = model_id = None
    if len(words) % 2:
        return None
    for key, value in zip(words[::2], words[1::2], strict=True):
        try:
            number = parse_id(value)
        except NotAnId:
            return None
        if key == "user":
            user_id = number
        elif key in ("model", "version"):
            model_id = number
        else:
            return None
    return user_id, model_id


async def _generations_page(
    services: Services,
    offset: int,
    user_id: int | None,
    model_id: int | None,
    lang: str | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    size = services.settings.generations_page_size
    total = await services.storage.count_generations(user_id=user_id, model_version_id=model_id)
    rows = await services.storage.list_generations(
        offset, size, user_id=user_id, model_version_id=model_id
    )
    if total == 0:
        return t(lang, "gen_none"), None
    last = min(offset + len(rows), total)
    lines = [t(lang, "gen_header", first=offset + 1, last=last, total=total)]
    for g in rows:
        out = g.output[len(g.seed) :] if g.output.startswith(g.seed) else g.output
        undelivered = t(lang, "gen_undelivered") if not g.delivered else ""
        lines.append(
            "\n"
            + t(lang, "gen_item", id=g.id, when=f"{g.created_at:%Y-%m-%d %H:%M}", user=g.user_id,
                temperature=format_temperature(g.temperature), version=g.model_version_id,
                source=t(lang, f"source_{g.source}"), undelivered=undelivered,
                seed=one_line(g.seed, 60), output=one_line(out, 120))
        )  # fmt: skip
    flt = f"{user_id if user_id is not None else '-'}:{model_id if model_id is not None else '-'}"
    buttons = []
    if offset > 0:
        buttons.append(
            InlineKeyboardButton("◀", callback_data=f"gen:{max(0, offset - size)}:{flt}")
        )
    if last < total:
        buttons.append(InlineKeyboardButton("▶", callback_data=f"gen:{offset + size}:{flt}"))
    return "\n".join(lines), InlineKeyboardMarkup([buttons]) if buttons else None


async def _filters_or_usage(update: Update) -> tuple[int | None, int | None] | None:
    message = update.effective_message
    filters_ = _parse_filters(command_argument(message)) if message is not None else None
    if filters_ is None:
        await reply_key(update, "gen_filter_usage")
    return filters_


@admin_only
async def generations(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services, message = get_services(context), update.effective_message
    filters_ = await _filters_or_usage(update)
    if message is None or filters_ is None:
        return
    text, markup = await _generations_page(services, 0, *filters_, lang_of(update))
    await to_admin_privately(
        update, lambda chat_id: context.bot.send_message(chat_id, text[:4096], reply_markup=markup)
    )


@admin_only
async def generations_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    await answer_query(query)
    _, offset, user_raw, model_raw = query.data.split(":")
    user_id = None if user_raw == "-" else int(user_raw)
    model_id = None if model_raw == "-" else int(model_raw)
    text, markup = await _generations_page(
        get_services(context), int(offset), user_id, model_id, lang_of(update)
    )
    await edit_query_text(query, text[:4096], markup)


@admin_only
async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services, message = get_services(context), update.effective_message
    filters_ = await _filters_or_usage(update)
    if message is None or filters_ is None:
        return
    user_id, model_id = filters_
    with tempfile.TemporaryDirectory(prefix="charlstm-export-") as tmp:
        try:
            built = await write_export(
                services.storage,
                Path(tmp),
                user_id=user_id,
                model_version_id=model_id,
                max_bytes=services.settings.export_max_bytes,
            )
        except ExportTooLarge as exc:
            await reply_key(update, "export_too_large", error=exc)
            return
        lang = lang_of(update)
        caption = t(lang, "export_caption", rows=built.rows)
        if built.compressed:
            limit = services.settings.export_max_bytes
            caption += t(lang, "export_compressed", limit=limit)
        data = await asyncio.to_thread(built.path.read_bytes)
        try:
            await to_admin_privately(
                update,
                lambda chat_id: context.bot.send_document(
                    chat_id,
                    data,
                    filename=built.filename,
                    caption=caption,
                    read_timeout=UPLOAD_TIMEOUT_S,
                    write_timeout=UPLOAD_TIMEOUT_S,
                ),
            )
        except NetworkError as exc:  # 413 (PTB: NetworkError): over the upload limit
            if "too large" not in exc.message.lower():
                raise
            await reply_key(update, "export_upload_refused")


@admin_only
async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    storage = services.storage
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    users = await storage.count_users()
    total = await storage.count_generations()
    today = await storage.count_generations(since=midnight)
    latency = await storage.latency_percentiles(now - timedelta(days=1), percentiles=(50, 95))
    active = await storage.active_model_version()
    manager = retrain_manager(services)
    lang = lang_of(update)
    lat = (
        t(lang, "stats_latency_none")
        if not latency
        else t(lang, "stats_latency", p50=f"{latency[50]:.0f}", p95=f"{latency[95]:.0f}")
    )
    model = (
        t(lang, "stats_model_none")
        if active is None
        else t(lang, "stats_model", version=active.id,
               val=t(lang, "n_a") if active.val_loss is None else f"{active.val_loss:.4f}")
    )  # fmt: skip
    engine = services.engine
    fair_use = await fair_use_stats(services, lang)  # refusals, top users, queues
    text = (
        t(lang, "stats", users=users, today=today, total=total, latency=lat, model=model,
          running=engine.active_requests, queued=engine.queue_depth,
          training=manager.status(lang))
        + "\n" + "\n".join(fair_use)
    )  # fmt: skip
    await to_admin_privately(update, lambda chat_id: context.bot.send_message(chat_id, text))
