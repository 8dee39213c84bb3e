"""Admin commands: /retrain, /models, /use, /generations, /export, /stats.

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

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot.cluster.status import replica_lines
from bot.display import one_line
from bot.export import ExportTooLarge, write_export
from bot.fair_use import stats_lines as fair_use_stats
from bot.handlers.common import lang_of, remember_user, reply, reply_key
from bot.parsing import NotAnId, command_argument, format_temperature, parse_id
from bot.retrain.blobs import corpus_text
from bot.retrain.cleanup import collect_corpus
from bot.retrain.corpora import CorpusStoreError, store_corpus, validate_text
from bot.retrain.download import DownloadError, TooLargeError, download_limited
from bot.retrain.manager import CancelResult, RetrainManager
from bot.retrain.plan import parse_words, plan_settings
from bot.services import Services, get_services
from bot.storage import (
    Corpus,
    CorpusNotFoundError,
    CorpusSource,
    TrainingAlreadyRunningError,
    TrainingRun,
    TrainingStatus,
)
from bot.texts import t
from model.errors import ModelError

log = logging.getLogger(__name__)

UPLOAD_TIMEOUT_S = 120.0  # a 50 MB upload over a slow link

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def admin_only(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        services = get_services(context)
        user = update.effective_user
        if not services.settings.is_admin(user.id if user else None):
            log.info("refused admin command from user %s", user.id if user else None)
            if update.callback_query is not None:
                await update.callback_query.answer(
                    t(lang_of(update), "not_allowed"), show_alert=True
                )
            else:
                await reply_key(update, "not_allowed")
            return
        await handler(update, context)

    return guarded


def _manager(services: Services) -> RetrainManager:
    if services.retrain is None:
        raise RuntimeError("retraining is not initialised")
    return services.retrain


# --------------------------------------------------------------------- /retrain


async def _uploaded_bytes(
    message: Message, services: Services, lang: str | None = None
) -> bytes | str | None:
    """The new text's bytes (document or replied-to text), None for none, or an error line.

    The size limit is enforced on the bytes as they arrive (a message's ``file_size`` is
    optional), and Telegram's own refusal of big files is answered as such.
    """
    source = message if message.document else message.reply_to_message
    if source is None:
        return None
    if source.document is not None:
        limit = services.settings.max_corpus_bytes
        size = source.document.file_size
        if size is not None and size > limit:
            return t(lang, "rt_file_too_big", size=f"{size:,}", limit=f"{limit:,}")
        try:
            file = await source.document.get_file()
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                return t(lang, "rt_file_over_20mb", limit=f"{limit:,}")
            return t(lang, "rt_file_refused", error=exc.message)
        try:
            return await download_limited(file, limit)
        except TooLargeError:
            return t(lang, "rt_file_over_limit", limit=f"{limit:,}")
        except DownloadError as exc:
            return t(lang, "rt_download_failed", error=exc)
    if source.text:
        return source.text.encode("utf-8")
    return t(lang, "rt_reply_to_text")


def _cancel_reply(result: CancelResult, lang: str | None = None) -> str:
    if result.outcome == "none" or result.run_id is None:
        return t(lang, "rt_none_running")
    serving = (
        t(lang, "rt_serving_current")
        if result.serving is None
        else t(lang, "rt_serving_version", version=result.serving)
    )
    run_id = result.run_id
    if result.outcome == "cancelled":
        return t(lang, "rt_cancel_done", run=run_id, serving=serving)
    run = result.run
    if run is not None and run.status is TrainingStatus.SUCCEEDED:
        return t(lang, "rt_cancel_after_success", run=run_id, serving=serving)
    if run is not None and run.finished:
        return t(lang, "rt_cancel_ended", run=run_id, state=run.status.value)
    return t(lang, "rt_cancel_finishing", run=run_id, serving=serving)


async def _busy_reply(update: Update, manager: RetrainManager, run: TrainingRun) -> None:
    lang = lang_of(update)
    if manager.current is not None and manager.current.run_id == run.id:
        await reply(update, t(lang, "rt_busy") + "\n" + manager.status(lang))
    else:
        await reply(update, t(lang, "rt_busy_run", run=run.id, state=run.status.value))


@admin_only
async def retrain(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    manager = _manager(services)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    lang = lang_of(update)
    parsed = parse_words(command_argument(message).lower().split())  # issue 13
    if parsed is None:
        await reply(update, t(lang, "rt_usage") + "\n" + t(lang, "retrain_methods_usage"))
        return
    mode, method = parsed
    if mode == "cancel":
        await reply(update, _cancel_reply(await manager.cancel(), lang))
        return
    # Refused before anything is downloaded or stored (the database says who trains).
    live = await manager.live_run()
    if live is not None:
        await _busy_reply(update, manager, live)
        return

    s = services.settings
    await remember_user(services, user)  # issue 14: the run speaks its admin's language
    uploaded = await _uploaded_bytes(message, services, lang)
    if isinstance(uploaded, str):
        await reply(update, uploaded)
        return
    active = await services.storage.active_model_version()
    current = None
    if active is not None and active.corpus_id is not None:
        current = await services.storage.get_corpus(active.corpus_id)
    try:
        if uploaded is None:
            if current is None:
                await reply_key(update, "rt_no_corpus")
                return
            text, source = (
                await corpus_text(services.storage, s.corpus_dir, current),
                CorpusSource.DEFAULT,
            )
            corpus = current
        else:
            text = validate_text(
                uploaded, s.max_corpus_bytes, s.retrain_seq_len, s.retrain_val_fraction
            )
            source = CorpusSource.UPLOAD
            if mode == "append":
                if current is None:
                    await reply_key(update, "rt_no_corpus_append")
                    return
                text = (
                    (await corpus_text(services.storage, s.corpus_dir, current)).rstrip("\n")
                    + "\n"
                    + text
                )
                source = CorpusSource.APPEND
            corpus = await store_corpus(services.storage, s.corpus_dir, text, source, user.id)
    except ModelError as exc:
        await reply_key(update, "rt_cannot_train", error=exc)
        return
    except CorpusStoreError as exc:
        await reply_key(update, "rt_cannot_store", error=exc)
        return

    plan = await _plan(services, manager, method, corpus, current, text)
    previous = await services.storage.find_successful_run(manager.settings_key(corpus, plan))
    if previous is not None:
        force = f"rt:force:{corpus.id}" + (f":{method}" if method else "")
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(t(lang, "rt_btn_train"), callback_data=force)]]
        )
        await message.reply_text(
            t(lang, "rt_already_trained", chars=f"{corpus.chars:,}", run=previous.id,
              version=previous.model_version_id),
            reply_markup=keyboard,
        )  # fmt: skip
        return
    await _launch(update, services, manager, corpus.id, message, method, plan)


async def _plan(
    services: Services,
    manager: RetrainManager,
    method: str | None,
    corpus: Corpus,
    current: Corpus | None,
    text: str | None = None,
) -> dict[str, Any]:
    """Fine-tune or fresh (issue 13); counting a 10 MB text's characters leaves the loop."""
    if text is None:
        text = await corpus_text(services.storage, services.settings.corpus_dir, corpus)
    active = (manager.active_checkpoint, manager.active_version)
    return await asyncio.to_thread(
        plan_settings, services.settings, method, active, corpus, current, text
    )


async def _launch(
    update: Update,
    services: Services,
    manager: RetrainManager,
    corpus_id: int,
    message: Message,
    method: str | None = None,
    plan: dict[str, Any] | None = None,
) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    lang = lang_of(update)
    corpus = await services.storage.get_corpus(corpus_id)
    if corpus is None:
        await reply_key(update, "rt_corpus_gone")
        return
    if plan is None:  # the "Train anyway" button: the plan is made again, as it is now
        active = await services.storage.active_model_version()
        current = None
        if active is not None and active.corpus_id is not None:
            current = await services.storage.get_corpus(active.corpus_id)
        try:
            plan = await _plan(services, manager, method, corpus, current)
        except (ModelError, CorpusStoreError):
            await reply(update, "That corpus no longer exists; send the text again.")
            return
    try:
        # The admin may see "starting…" and send /retrain cancel before the run exists.
        async with manager.starting():
            status = await message.reply_text(
                t(lang, "rt_training_on", corpus=corpus.id, chars=f"{corpus.chars:,}")
            )
            run_id = await manager.start(corpus, user.id, chat.id, status.message_id, plan)
    except (TrainingAlreadyRunningError, CorpusNotFoundError) as exc:
        # Lost a race with another start: the text stored for nothing is not kept.
        await collect_corpus(services.storage, corpus.id, services.settings.corpus_dir)
        live = await services.storage.live_training_run()
        text = (
            t(lang, "rt_corpus_gone")
            if isinstance(exc, CorpusNotFoundError)
            else t(lang, "rt_busy_run", run=live.id if live else "?",
                   state=live.status.value if live else "?")
        )  # fmt: skip
        await status.edit_text(text)
        return
    log.info("admin %s started training run %d on corpus %d", user.id, run_id, corpus.id)


@admin_only
async def retrain_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None or query.message is None:
        return
    services = get_services(context)
    manager = _manager(services)
    await query.answer()
    parts = query.data.split(":")  # rt:force:<corpus id>[:<method>] (issue 13)
    corpus_id = int(parts[2])
    method = parts[3] if len(parts) > 3 else None
    await query.edit_message_reply_markup(None)
    live = await manager.live_run()
    if live is not None:
        await _busy_reply(update, manager, live)
        return
    assert isinstance(query.message, Message)
    await _launch(update, services, manager, corpus_id, query.message, method)


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
        lines.append(
            t(lang, "models_item", version=v.id,
              active=t(lang, "models_active") if v.is_active else "",
              when=f"{v.created_at:%Y-%m-%d %H:%M}", corpus=corpus,
              chars=f"{v.corpus_chars:,}", vocab=v.vocab_size, val=val)
        )  # fmt: skip
    lines.append(t(lang, "models_footer"))
    lines += await replica_lines(services, lang)  # issue 12 b
    await reply(update, "\n".join(lines))


async def _activate(update: Update, services: Services, raw: str) -> None:
    try:
        version_id = parse_id(raw)
    except NotAnId:
        await reply_key(update, "use_usage")
        return
    try:
        version = await _manager(services).activate(version_id)
    except LookupError:
        await reply_key(update, "use_missing", version=version_id)
        return
    except ModelError as exc:
        await reply_key(update, "use_unloadable", version=version_id, error=exc)
        return
    await reply_key(update, "use_done", version=version.id)


@admin_only
async def use(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    await _activate(update, get_services(context), command_argument(message))


@admin_only
async def version_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    services = get_services(context)
    await query.answer()
    _, action, raw_id = query.data.split(":")
    await query.edit_message_reply_markup(None)
    if action == "use":
        await _activate(update, services, raw_id)
        return
    try:
        await _manager(services).discard(int(raw_id))
    except (LookupError, ValueError) as exc:
        await reply_key(update, "discard_failed", version=raw_id, error=exc)
        return
    await reply_key(update, "discard_done", version=raw_id)


# --------------------------------------------------------------- generations


async def _to_admin_privately(
    update: Update, send: Callable[[int], Coroutine[Any, Any, object]]
) -> None:
    """Run ``send(chat_id)`` in the admin's private chat. Review commands sent in a group
    (or supergroup) get only a short note there, never the data (issue 9)."""
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
    await _to_admin_privately(
        update, lambda chat_id: context.bot.send_message(chat_id, text[:4096], reply_markup=markup)
    )


@admin_only
async def generations_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    await query.answer()
    _, offset, user_raw, model_raw = query.data.split(":")
    user_id = None if user_raw == "-" else int(user_raw)
    model_id = None if model_raw == "-" else int(model_raw)
    text, markup = await _generations_page(
        get_services(context), int(offset), user_id, model_id, lang_of(update)
    )
    await query.edit_message_text(text[:4096], reply_markup=markup)


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
            limit = f"{services.settings.export_max_bytes:,}"
            caption += t(lang, "export_compressed", limit=limit)
        data = await asyncio.to_thread(built.path.read_bytes)
        await _to_admin_privately(
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
    manager = _manager(services)
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
    fair_use = await fair_use_stats(services, lang)  # issue 11: refusals, top users, queues
    text = (
        t(lang, "stats", users=users, today=today, total=total, latency=lat, model=model,
          running=engine.active_requests, queued=engine.queue_depth,
          training=manager.status(lang))
        + "\n" + "\n".join(fair_use)
    )  # fmt: skip
    await _to_admin_privately(update, lambda chat_id: context.bot.send_message(chat_id, text))
