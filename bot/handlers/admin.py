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
from bot.handlers.common import lang_of, reply, reply_key
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


async def _uploaded_bytes(message: Message, services: Services) -> bytes | str | None:
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
            return f"The file is {size:,} bytes; the limit is {limit:,} bytes. Send a shorter text."
        try:
            file = await source.document.get_file()
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                return (
                    "Telegram does not let bots download files over 20 MB, so I cannot read "
                    f"this one. The limit is {limit:,} bytes; send a shorter text."
                )
            return f"Telegram could not give me the file ({exc.message}). Send it again."
        try:
            return await download_limited(file, limit)
        except TooLargeError:
            return f"The file is over the limit of {limit:,} bytes. Send a shorter text."
        except DownloadError as exc:
            return f"I could not download the file: {exc}. Send it again."
    if source.text:
        return source.text.encode("utf-8")
    return "Reply to a .txt document or a text message, or attach the text as a document."


def _cancel_reply(result: CancelResult) -> str:
    if result.outcome == "none" or result.run_id is None:
        return "No training is running."
    serving = "The current model" if result.serving is None else f"Version {result.serving}"
    if result.outcome == "cancelled":
        return f"Training run #{result.run_id} was cancelled. {serving} keeps serving."
    run = result.run
    if run is not None and run.status is TrainingStatus.SUCCEEDED:
        return (
            f"Too late to cancel training run #{result.run_id}: it had already finished "
            f"training. {serving} is now active; /use <id> switches versions (see /models)."
        )
    if run is not None and run.finished:
        return f"Training run #{result.run_id} had already ended ({run.status.value})."
    return (
        f"Too late to cancel training run #{result.run_id}: it finished training and its "
        f"model is being registered; you will get its outcome. {serving} serves for now."
    )


async def _busy_reply(update: Update, manager: RetrainManager, run: TrainingRun) -> None:
    if manager.current is not None and manager.current.run_id == run.id:
        await reply(update, "A training is already running:\n" + manager.status())
    else:
        await reply(update, f"A training is already running: run #{run.id} ({run.status.value}).")


@admin_only
async def retrain(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    manager = _manager(services)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    parsed = parse_words(command_argument(message).lower().split())  # issue 13
    if parsed is None:
        await reply(
            update,
            "Usage: /retrain (with a .txt document or as a reply), /retrain append, "
            "/retrain cancel.\n" + t(lang_of(update), "retrain_methods_usage"),
        )
        return
    mode, method = parsed
    if mode == "cancel":
        await reply(update, _cancel_reply(await manager.cancel()))
        return
    # Refused before anything is downloaded or stored (the database says who trains).
    live = await manager.live_run()
    if live is not None:
        await _busy_reply(update, manager, live)
        return

    s = services.settings
    uploaded = await _uploaded_bytes(message, services)
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
                await reply(update, "There is no current corpus to retrain on; send a text.")
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
                    await reply(update, "There is no current corpus to append to.")
                    return
                text = (
                    (await corpus_text(services.storage, s.corpus_dir, current)).rstrip("\n")
                    + "\n"
                    + text
                )
                source = CorpusSource.APPEND
            corpus = await store_corpus(services.storage, s.corpus_dir, text, source, user.id)
    except ModelError as exc:
        await reply(update, f"I can't train on this text: {exc} Nothing was changed.")
        return
    except CorpusStoreError as exc:
        await reply(update, f"I could not store the text: {exc}. Nothing was changed.")
        return

    plan = await _plan(services, manager, method, corpus, current, text)
    previous = await services.storage.find_successful_run(manager.settings_key(corpus, plan))
    if previous is not None:
        force = f"rt:force:{corpus.id}" + (f":{method}" if method else "")
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton("Train anyway", callback_data=force)]]
        )
        await message.reply_text(
            f"This text ({corpus.chars:,} characters) was already trained with the same settings "
            f"in run #{previous.id} (version {previous.model_version_id}). Train again anyway?",
            reply_markup=keyboard,
        )
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
    corpus = await services.storage.get_corpus(corpus_id)
    if corpus is None:
        await reply(update, "That corpus no longer exists; send the text again.")
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
    status = await message.reply_text(
        f"Training on corpus #{corpus.id} ({corpus.chars:,} characters): starting…"
    )
    try:
        run_id = await manager.start(corpus, user.id, chat.id, status.message_id, plan)
    except (TrainingAlreadyRunningError, CorpusNotFoundError) as exc:
        # Lost a race with another start: the text stored for nothing is not kept.
        await collect_corpus(services.storage, corpus.id, services.settings.corpus_dir)
        live = await services.storage.live_training_run()
        text = (
            "That corpus no longer exists; send the text again."
            if isinstance(exc, CorpusNotFoundError)
            else f"A training is already running: run #{live.id if live else '?'}."
        )
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
    versions = await services.storage.list_model_versions(limit=20)
    if not versions:
        await reply(update, "No model versions yet.")
        return
    lines = ["Model versions, newest first:"]
    for v in versions:
        val = "n/a" if v.val_loss is None else f"{v.val_loss:.4f}"
        corpus = f"corpus #{v.corpus_id}" if v.corpus_id is not None else "corpus ?"
        lines.append(
            f"#{v.id}{' ✅ active' if v.is_active else ''} · {v.created_at:%Y-%m-%d %H:%M} · "
            f"{corpus} ({v.corpus_chars:,} chars) · vocab {v.vocab_size} · val loss {val}"
        )
    lines.append("Switch with /use <id>.")
    lines += await replica_lines(services, lang_of(update))  # issue 12 b
    await reply(update, "\n".join(lines))


async def _activate(update: Update, services: Services, raw: str) -> None:
    try:
        version_id = parse_id(raw)
    except NotAnId:
        await reply(update, "Usage: /use <version id>, e.g. /use 2 (see /models).")
        return
    try:
        version = await _manager(services).activate(version_id)
    except LookupError:
        await reply(update, f"There is no model version {version_id}; see /models.")
        return
    except ModelError as exc:
        await reply(update, f"Version {version_id} cannot be loaded: {exc} Nothing was changed.")
        return
    await reply(update, f"Version {version.id} is now active.")


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
        await reply(update, f"Version {raw_id} was not discarded: {exc}")
        return
    await reply(update, f"Version {raw_id} was discarded.")


# --------------------------------------------------------------- generations

SENT_PRIVATELY = "Sent to you in a private chat: user data never goes into a group."
OPEN_PRIVATE_CHAT = (
    "I can't message you privately yet, and I don't post user data in groups: open a "
    "private chat with me (press Start there), then send the command again."
)


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
        await reply(update, OPEN_PRIVATE_CHAT)
        return
    await reply(update, SENT_PRIVATELY)


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


FILTER_USAGE = "Filters: user <id> and/or model <version>, e.g. /generations user 12345 model 2."


async def _generations_page(
    services: Services, offset: int, user_id: int | None, model_id: int | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    size = services.settings.generations_page_size
    total = await services.storage.count_generations(user_id=user_id, model_version_id=model_id)
    rows = await services.storage.list_generations(
        offset, size, user_id=user_id, model_version_id=model_id
    )
    if total == 0:
        return "No generations match.", None
    last = min(offset + len(rows), total)
    lines = [f"Generations {offset + 1}–{last} of {total}, newest first:"]
    for g in rows:
        out = g.output[len(g.seed) :] if g.output.startswith(g.seed) else g.output
        undelivered = " · ⚠ not delivered" if not g.delivered else ""
        lines.append(
            f"\n#{g.id} · {g.created_at:%Y-%m-%d %H:%M} · user {g.user_id} · "
            f"T={format_temperature(g.temperature)} · version {g.model_version_id}"
            f"{undelivered}\nseed: {one_line(g.seed, 60)}\noutput: {one_line(out, 120)}"
        )
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
        await reply(update, FILTER_USAGE)
    return filters_


@admin_only
async def generations(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services, message = get_services(context), update.effective_message
    filters_ = await _filters_or_usage(update)
    if message is None or filters_ is None:
        return
    text, markup = await _generations_page(services, 0, *filters_)
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
    text, markup = await _generations_page(get_services(context), int(offset), user_id, model_id)
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
            await reply(
                update,
                f"The export is too large to send ({exc}). Narrow it with "
                "/export user <id> or /export model <version>.",
            )
            return
        caption = f"{built.rows} generations"
        if built.compressed:
            caption += (
                f" (gzip-compressed: the CSV is over the {services.settings.export_max_bytes:,}"
                "-byte upload limit)"
            )
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
    lat = (
        "no generations in the last 24 h"
        if not latency
        else f"p50 {latency[50]:.0f} ms, p95 {latency[95]:.0f} ms (last 24 h)"
    )
    model = (
        "none"
        if active is None
        else f"version {active.id}, val loss "
        + ("n/a" if active.val_loss is None else f"{active.val_loss:.4f}")
    )
    engine = services.engine
    fair_use = await fair_use_stats(services)  # issue 11: refusals, top users, queues
    text = (
        f"Users: {users}\nGenerations: {today} today (UTC), {total} in total\n"
        f"Latency: {lat}\nActive model: {model}\n"
        f"Engine: {engine.active_requests} running, {engine.queue_depth} queued\n"
        f"Training: {manager.status()}\n" + "\n".join(fair_use)
    )
    await _to_admin_privately(update, lambda chat_id: context.bot.send_message(chat_id, text))
