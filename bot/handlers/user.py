"""Commands for everyone: /start, /help, /write, /temp, /history, /forget."""

from __future__ import annotations

import logging
import math
import time

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.handlers import buttons
from bot.rules import limits, writing
from bot.storage import GenerationSource
from bot.telegram.display import one_line, printable
from bot.telegram.parsing import NotANumber, command_argument, format_temperature, parse_number
from bot.telegram.replies import (
    answer_query,
    lang_of,
    remember_user,
    reply,
    reply_key,
    send_reply,
    take_buttons,
    typing,
)
from bot.telegram.services import get_services
from bot.texts import t

log = logging.getLogger(__name__)

FORGET_YES = "forget:yes"
FORGET_NO = "forget:no"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    user = update.effective_user
    if user is None:
        return
    prefs = await writing.preferences(services, user)
    lang = lang_of(update)
    greeting = t(
        lang,
        "start",
        name=one_line(user.first_name, 64),
        corpus=t(lang, "corpus_default"),
        temperature=format_temperature(prefs.temperature),
    )
    await reply(update, greeting + "\n" + t(lang, "start_length", length=prefs.length))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    user = update.effective_user
    if user is None:
        return
    s = services.settings
    prefs = await writing.stored_preferences(services, user.id)
    lang = lang_of(update)
    text = t(
        lang,
        "help",
        length=prefs.length,
        max_seed=s.max_seed_chars,
        tmin=format_temperature(s.min_temperature),
        tmax=format_temperature(s.max_temperature),
        temperature=format_temperature(prefs.temperature),
    )
    more = t(  # /length, /write as a reply, the buttons, inline mode
        lang,
        "help_length",
        length=prefs.length,
        lmin=writing.MIN_LENGTH,
        lmax=writing.MAX_LENGTH,
        bot=f"@{context.bot.username}",
    )
    await reply(update, text + "\n\n" + more)


async def write(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    received = time.perf_counter()
    services = get_services(context)
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    if user is None or chat is None or message is None:
        return
    if not await limits.admit(update, context):  # per-user limits, told once
        return
    seed = command_argument(message)
    replied = message.reply_to_message
    if not seed and replied is not None:
        # /write as a reply continues the replied-to message.
        seed = (replied.text or replied.caption or "").strip()
        if not seed:
            await reply_key(update, "write_reply_empty")
            return
        # Longer than a seed (the bot's own texts often are): continued from its end, as
        # the "Continue" button does.
        seed = writing.continuation_seed(services, seed)
    if not seed:
        await reply_key(update, "write_usage")
        return
    limit = services.settings.max_seed_chars
    if len(seed) > limit:
        await reply_key(update, "seed_too_long", length=len(seed), limit=limit)
        return
    # "typing…" first, before the user's own database work; best effort, in the
    # background. It is cancelled once the text is ready (a late one would show "typing…"
    # under the answer), but not when the work fails: on SQLite that work runs without
    # yielding to the loop, so a failure can come before the task ever ran, and the user
    # would see nothing before the apology.
    typing_task = typing(update)
    try:
        prefs = await writing.preferences(services, user)
        ask = writing.Ask(
            user.id, chat.id, seed, prefs.temperature, prefs.length, update_id=update.update_id
        )
        written = await writing.generate_and_store(services, ask, received)
    except writing.REFUSALS as exc:
        await reply(update, writing.refusal_text(services, lang_of(update), exc))
        return
    typing_task.cancel()
    result = written.result
    await buttons.deliver(
        update, services, written.generation_id, printable(result.text), received=received
    )
    limits.written()
    if result.seed.dropped:
        chars = " ".join(printable(c, keep_newlines=False) for c in result.seed.dropped)
        await send_reply(update, t(lang_of(update), "dropped_note", chars=chars))
    log.info(
        "write user=%s chars=%d temperature=%.2f version=%s latency_ms=%.0f",
        user.id, len(result.continuation), prefs.temperature, result.model_version,
        written.latency_ms,
        # as fields of their own in JSON logs
        extra={"latency_ms": round(written.latency_ms), "model_version": result.model_version},
    )  # fmt: skip


async def temp(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    s = services.settings
    bounds = {
        "tmin": format_temperature(s.min_temperature),
        "tmax": format_temperature(s.max_temperature),
    }
    raw = command_argument(message)
    if not raw:
        prefs = await writing.stored_preferences(services, user.id)
        lang = lang_of(update)
        shown = t(
            lang,
            "temp_show",
            temperature=format_temperature(prefs.temperature),
            default=format_temperature(s.default_temperature),
            **bounds,
        )
        await reply(update, shown + "\n" + t(lang, "temp_length", length=prefs.length))
        return
    shown = one_line(raw, 40)  # escaped: a bidi override or NUL must not reach the reply
    try:
        value = parse_number(raw)
    except NotANumber:
        await reply_key(update, "temp_not_number", value=shown, **bounds)
        return
    if not s.min_temperature <= value <= s.max_temperature:
        await reply_key(update, "temp_out_of_range", value=shown, **bounds)
        return
    await remember_user(services, user)
    await services.storage.set_temperature(user.id, value)
    await reply_key(update, "temp_set", temperature=format_temperature(value))


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    user = update.effective_user
    if user is None:
        return
    rows = await services.storage.user_history(user.id, limit=services.settings.history_limit)
    lang = lang_of(update)
    if not rows:
        await reply_key(update, "history_empty")
        return
    lines = [t(lang, "history_header", count=len(rows))]
    for index, row in enumerate(rows, start=1):
        lines.append(
            t(
                lang,
                "history_item",
                index=index,
                when=row.created_at,
                temperature=format_temperature(row.temperature),
                seed=one_line(row.seed, 80),
            )
        )
        if not row.delivered:
            # an inline offer is "delivered" only once the user posts it
            offered = row.source == GenerationSource.INLINE.value
            lines.append(
                "   " + t(lang, "history_inline_offer" if offered else "history_undelivered")
            )
    await reply(update, "\n".join(lines))


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    lang = lang_of(update)
    count = await services.storage.count_generations(user_id=user.id)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "forget_yes"), callback_data=f"{FORGET_YES}:{user.id}"
                ),
                InlineKeyboardButton(t(lang, "forget_no"), callback_data=f"{FORGET_NO}:{user.id}"),
            ]
        ]
    )
    # A reply to the user's own /forget: that is where the buttons' owner is read from.
    await message.reply_text(
        t(lang, "forget_confirm", count=count), reply_markup=keyboard, do_quote=True
    )


def _confirmation_owner(query: CallbackQuery) -> int | None:
    """Whose confirmation this is, from the message itself, never from the callback data
    (a modified client can send any data for any message it sees): in a private
    chat, its only user; elsewhere, the sender of the /forget it answers."""
    message = query.message
    if not isinstance(message, Message):  # too old to be accessible
        return None
    if message.chat.type == ChatType.PRIVATE:
        return message.chat.id
    asked = message.reply_to_message
    if asked is None or asked.from_user is None:
        return None
    return asked.from_user.id


async def forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    services = get_services(context)
    lang = query.from_user.language_code
    action, _, claimed = query.data.rpartition(":")
    owner = _confirmation_owner(query)
    if owner is None:
        await answer_query(query, t(lang, "forget_expired"), show_alert=True)
        return
    if query.from_user.id != owner or claimed != str(owner):
        await answer_query(query, t(lang, "forget_not_yours"), show_alert=True)
        return
    # Taking the buttons claims the confirmation: a Cancel (or a Yes) already pressed on
    # this message spends it, so a stale keyboard or a double tap does nothing.
    if not await take_buttons(query):
        await answer_query(query, t(lang, "forget_expired"), show_alert=True)
        return
    await answer_query(query)
    if action == FORGET_YES:
        deleted = await services.storage.forget_user(owner)
        await query.edit_message_text(t(lang, "forget_done", count=deleted))
    else:
        await query.edit_message_text(t(lang, "forget_cancelled"))


async def length(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/length <n> sets how many characters a text has; /length alone shows it."""
    services = get_services(context)
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    bounds = {"lmin": writing.MIN_LENGTH, "lmax": writing.MAX_LENGTH}
    raw = command_argument(message)
    if not raw:
        prefs = await writing.stored_preferences(services, user.id)
        default = services.settings.default_length
        await reply_key(update, "length_show", length=prefs.length, default=default, **bounds)
        return
    shown = one_line(raw, 40)  # escaped: a bidi override or NUL must not reach the reply
    try:
        value = parse_number(raw)
    except NotANumber:
        value = math.nan
    if not value.is_integer():  # "abc", "2.5", and nan
        await reply_key(update, "length_not_number", value=shown, **bounds)
        return
    if not writing.MIN_LENGTH <= value <= writing.MAX_LENGTH:
        await reply_key(update, "length_out_of_range", value=shown, **bounds)
        return
    await remember_user(services, user)
    await services.storage.set_length(user.id, int(value))
    await reply_key(update, "length_set", length=int(value))
