"""The buttons under every generated text: again, colder, hotter, continue.

Each button's callback data is ``w:<action>:<generation id>``, and nothing else is
trusted from it: the pressed generation is read from the database, so a button keeps
working after a restart (the row is still there) and answers that it has expired once
the row is gone (``/forget``). Only the user the row belongs to may press; anyone else,
including a modified client sending made-up data, gets an alert and nothing happens.

A press is a generation like any other: it passes the same per-user limits as /write
(a refusal is the button's alert, told once per burst), is stored (source ``button``,
``parent_id`` the pressed one) and is answered with a new message carrying its own
buttons; the pressed message is never edited. "Colder" and "hotter" change the
temperature of this one text only, never the user's preference.
"""

from __future__ import annotations

import logging
import re
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot import metrics
from bot.rules import limits, writing
from bot.storage import GenerationSource
from bot.telegram.display import printable
from bot.telegram.parsing import format_temperature
from bot.telegram.replies import answer_query, lang_of, send_reply
from bot.telegram.services import Services, get_services
from bot.texts import t

log = logging.getLogger(__name__)

AGAIN, COLDER, HOTTER, MORE = "again", "colder", "hotter", "more"
# Every "w:" press is answered (a forged one too, so no client spins); the data itself
# is checked by _parse: a known action, and an id in ASCII digits that fits the column.
PATTERN = r"^w:"
_DATA = re.compile(rf"w:({AGAIN}|{COLDER}|{HOTTER}|{MORE}):([0-9]{{1,10}})")
# Generation ids are 32-bit INTEGERs on PostgreSQL: a larger number cannot be one, and
# must not reach the database (asyncpg refuses it with an error, not "not found").
MAX_GENERATION_ID = 2**31 - 1
ELLIPSIS = "…"


def keyboard(lang: str | None, generation_id: int) -> InlineKeyboardMarkup:
    def button(action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            t(lang, f"btn_{action}"), callback_data=f"w:{action}:{generation_id}"
        )

    return InlineKeyboardMarkup([[button(AGAIN), button(COLDER), button(HOTTER)], [button(MORE)]])


async def deliver(
    update: Update,
    services: Services,
    generation_id: int,
    text: str,
    *,
    source: str = metrics.WRITE,
    received: float | None = None,
) -> None:
    """Send a stored generation with its buttons and record whether Telegram confirmed
    it. Exactly one outcome: the text, or (when none of it can have reached the user)
    one apology. ``received`` (the update's ``perf_counter()``) times the reply."""
    markup = keyboard(lang_of(update), generation_id)
    outcome = await send_reply(update, text, markup)
    delivered = metrics.DELIVERED if outcome.delivered else metrics.NOT_DELIVERED
    metrics.generation(source, delivered)
    if outcome.delivered and received is not None:
        metrics.LATENCY.labels(source).observe(time.perf_counter() - received)
    if outcome.delivered:
        await services.storage.mark_delivered(generation_id)
    elif not outcome.reached_user:
        log.warning("generation %d was not delivered: %s", generation_id, outcome.error)
        await send_reply(update, t(lang_of(update), "error"))


def _parse(data: str) -> tuple[str, int] | None:
    """(action, generation id) from a button's data; None for anything else."""
    match = _DATA.fullmatch(data)
    if match is None or int(match[2]) > MAX_GENERATION_ID:
        return None
    return match[1], int(match[2])


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    received = time.perf_counter()
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None or chat is None:
        return
    services = get_services(context)
    lang = query.from_user.language_code
    parsed = _parse(query.data)
    parent = None if parsed is None else await services.storage.get_generation(parsed[1])
    if parsed is None or parent is None:
        await answer_query(query, t(lang, "button_expired"), show_alert=True)
        return
    if parent.user_id != query.from_user.id:
        await answer_query(query, t(lang, "button_not_yours"), show_alert=True)
        return
    action = parsed[0]
    temperature, seed = parent.temperature, parent.seed
    if action in (COLDER, HOTTER):
        temperature = writing.button_temperature(services, parent.temperature, action == HOTTER)
        if temperature == parent.temperature:
            key = "button_hottest" if action == HOTTER else "button_coldest"
            await answer_query(
                query, t(lang, key, temperature=format_temperature(temperature)), show_alert=True
            )
            return
    elif action == MORE:
        seed = writing.continuation_seed(services, parent.output)
    refusal: list[str] = []

    async def tell(text: str) -> None:
        refusal.append(text)

    if not await limits.admit(update, context, tell=tell):
        # Always answered, so the client stops its spinner; the reason once per burst.
        await answer_query(query, refusal[0] if refusal else None, show_alert=bool(refusal))
        return
    await answer_query(query)
    # After the limits: a refused press costs no database write.
    prefs = await writing.preferences(services, query.from_user)
    ask = writing.Ask(
        query.from_user.id, chat.id, seed, temperature, prefs.length,
        GenerationSource.BUTTON, parent.id, update.update_id,
    )  # fmt: skip
    try:
        written = await writing.generate_and_store(services, ask, received)
    except writing.REFUSALS as exc:
        await send_reply(update, writing.refusal_text(services, lang, exc))
        return
    result = written.result
    # "Continue" shows only the new text: its beginning is already on screen above.
    text = ELLIPSIS + result.continuation if action == MORE else result.text
    await deliver(
        update, services, written.generation_id, printable(text),
        source=metrics.BUTTON, received=received,
    )  # fmt: skip
    limits.written()
    log.info(
        "button %s user=%s parent=%s temperature=%.2f latency_ms=%.0f",
        action, query.from_user.id, parent.id, temperature, written.latency_ms,
    )  # fmt: skip
