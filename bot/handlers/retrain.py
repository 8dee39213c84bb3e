"""The /retrain command: a corpus from a file, a link or the default, planned and started.

The run itself is :mod:`bot.retrain.manager`'s; this module parses what the admin sent,
stores the corpus and answers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.handlers.admin import admin_only, retrain_manager
from bot.retrain.manager import CancelResult, RetrainManager
from bot.storage import (
    Corpus,
    CorpusNotFoundError,
    CorpusSource,
    TrainingAlreadyRunningError,
    TrainingRun,
    TrainingStatus,
)
from bot.telegram.parsing import command_argument
from bot.telegram.replies import (
    answer_query,
    lang_of,
    remember_user,
    reply,
    reply_key,
    take_buttons,
)
from bot.telegram.services import Services, get_services
from bot.texts import t
from bot.texts.worded import cause
from bot.training.blobs import corpus_text
from bot.training.cleanup import collect_corpus
from bot.training.corpora import CorpusStoreError, store_corpus, validate_text
from bot.training.download import DownloadError, TooLargeError, download_limited
from bot.training.plan import parse_words, plan_settings
from model.errors import ModelError

log = logging.getLogger(__name__)

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
            return t(lang, "rt_file_too_big", size=size, limit=limit)
        try:
            file = await source.document.get_file()
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                return t(lang, "rt_file_over_20mb", limit=limit)
            return t(lang, "rt_file_refused", error=cause(lang, exc, exc.message))
        try:
            return await download_limited(file, limit)
        except TooLargeError:
            return t(lang, "rt_file_over_limit", limit=limit)
        except DownloadError as exc:
            return t(lang, "rt_download_failed", error=cause(lang, exc))
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
    manager = retrain_manager(services)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    lang = lang_of(update)
    parsed = parse_words(command_argument(message).lower().split())
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
    await remember_user(services, user)  # the run speaks its admin's language
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
            # Decoding and checking every character of a 10 MB upload takes seconds: in a
            # worker thread, so other users' updates are answered meanwhile.
            text = await asyncio.to_thread(
                validate_text,
                uploaded, s.max_corpus_bytes, s.retrain_seq_len, s.retrain_val_fraction,
            )  # fmt: skip
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
        await reply_key(update, "rt_cannot_train", error=cause(lang_of(update), exc))
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
            t(lang, "rt_already_trained", chars=corpus.chars, run=previous.id,
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
    """Fine-tune or fresh; counting a 10 MB text's characters leaves the loop."""
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
        # The run is recorded before the admin is told "starting…": a /retrain cancel
        # sent on seeing it may reach another replica, which knows the run only from the
        # database. The status message is attached to the run once it is sent.
        async with manager.starting():
            run_id = await manager.start(corpus, user.id, chat.id, None, plan)
            status = await message.reply_text(
                t(lang, "rt_training_on", corpus=corpus.id, chars=corpus.chars)
            )
            await manager.attach_status_message(run_id, status.message_id)
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
        await message.reply_text(text)
        return
    log.info("admin %s started training run %d on corpus %d", user.id, run_id, corpus.id)


@admin_only
async def retrain_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None or query.message is None:
        return
    services = get_services(context)
    manager = retrain_manager(services)
    await answer_query(query)
    parts = query.data.split(":")  # rt:force:<corpus id>[:<method>]
    corpus_id = int(parts[2])
    method = parts[3] if len(parts) > 3 else None
    if not await take_buttons(query):  # a double tap: the first press does the work
        return
    live = await manager.live_run()
    if live is not None:
        await _busy_reply(update, manager, live)
        return
    assert isinstance(query.message, Message)
    await _launch(update, services, manager, corpus_id, query.message, method)
