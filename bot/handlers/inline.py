"""Inline mode: ``@bot <seed>`` in any chat offers three continuations.

Telegram sends an inline query for each pause in the user's typing. Each query waits
``DEBOUNCE_S`` first; if the same user typed on meanwhile, a newer query exists and this
one is dropped unanswered (the client only shows the newest query's answer anyway), so
typing a sentence costs one generation round, not one per keystroke. What is left goes
through exactly what /write goes through: the per-user limits, the seed length limit,
the engine's seed policy (unknown characters dropped and said, none known refused).

The three continuations (at ``TEMPERATURES``, clamped to the allowed range) are written
as one batch by the engine, each stored as a generation with source ``inline``, not yet
delivered, and offered as articles whose ids are the generation ids. A chosen result
arrives as ``chosen_inline_result`` (only if inline feedback is on in @BotFather) and is
marked delivered. Telegram does not tell the bot which chat the query was typed in, so
the rows' ``chat_id`` is 0.

A refusal is never an error: it is one explanatory article the first time in a burst,
an empty answer after that. Answers are personal and cached briefly (``CACHE_TIME_S``),
since each one is a fresh sample.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import (
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import metrics
from bot.rules import limits, writing
from bot.storage import GenerationSource
from bot.telegram.display import one_line, printable
from bot.telegram.parsing import format_temperature, utf16_len
from bot.telegram.services import Services, get_services
from bot.texts import t

log = logging.getLogger(__name__)

# Centred on the default temperature (1.0 with the min-p cut-off, chosen on the realism
# grid of docs/MODEL.md): a cooler and a warmer take on either side of what /write gives.
TEMPERATURES = (0.8, 1.0, 1.2)
DEBOUNCE_S = 0.6
CACHE_TIME_S = 10
INLINE_CHAT_ID = 0  # Telegram does not say where an inline query was typed
MAX_TEXT_CHARS = 4000  # a result's message must fit Telegram's 4,096 limit
LATEST = "inline_latest"  # services.extra: user id -> their newest inline query id
DESCRIPTION_CHARS = 120


def _article(result_id: str, title: str, text: str, description: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        result_id,
        title,
        InputTextMessageContent(text),
        description=description,
    )


async def _answer(
    query: InlineQuery,
    results: list[InlineQueryResultArticle],
    button: InlineQueryResultsButton | None = None,
) -> None:
    try:
        await query.answer(results, cache_time=CACHE_TIME_S, is_personal=True, button=button)
    except TelegramError as exc:  # e.g. the query is too old: the user typed on
        log.info("inline query %s: no answer: %s", query.id, exc)


async def _is_superseded(
    services: Services, context: ContextTypes.DEFAULT_TYPE, query: InlineQuery
) -> bool:
    """Wait for the user to stop typing; True when a newer query of theirs arrived."""
    latest: dict[int, str] = services.extra.setdefault(LATEST, {})
    user_id = query.from_user.id
    latest[user_id] = query.id
    if context.application.concurrent_updates <= 1:
        return False  # updates one at a time: waiting would only delay the newer one
    await asyncio.sleep(DEBOUNCE_S)
    if latest.get(user_id) != query.id:
        return True
    del latest[user_id]
    return False


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query
    if query is None:
        return
    services = get_services(context)
    lang = query.from_user.language_code
    seed = query.query.strip()
    if not seed:
        button = InlineQueryResultsButton(t(lang, "inline_usage_title"), start_parameter="inline")
        await _answer(query, [], button=button)
        return
    if await _is_superseded(services, context, query):
        return
    received = time.perf_counter()
    refusal: list[str] = []

    async def tell(text: str) -> None:
        refusal.append(text)

    if not await limits.admit(update, context, tell=tell):
        await _refuse(query, refusal[0] if refusal else None, lang)
        return
    limit = services.settings.max_seed_chars
    if len(seed) > limit:
        await _refuse(query, t(lang, "inline_too_long", length=len(seed), limit=limit), lang)
        return
    await _offer(update, services, query, seed, received)


async def _refuse(query: InlineQuery, text: str | None, lang: str | None) -> None:
    """One explanatory article, or (told already in this burst) an empty answer."""
    if text is None:
        await _answer(query, [])
        return
    await _answer(query, [_article("refused", t(lang, "inline_refused_title"), text, text)])


async def _offer(
    update: Update, services: Services, query: InlineQuery, seed: str, received: float
) -> None:
    user = query.from_user
    lang = user.language_code
    prefs = await writing.preferences(services, user)
    s = services.settings
    temperatures = sorted({min(s.max_temperature, max(s.min_temperature, x)) for x in TEMPERATURES})
    length = max(1, min(prefs.length, MAX_TEXT_CHARS - len(seed)))
    asks = [
        writing.Ask(user.id, INLINE_CHAT_ID, seed, temperature, length, GenerationSource.INLINE)
        for temperature in temperatures
    ]
    outcomes = await asyncio.gather(
        *(writing.generate_and_store(services, ask, received) for ask in asks),
        return_exceptions=True,
    )
    results: list[InlineQueryResultArticle] = []
    for ask, outcome in zip(asks, outcomes, strict=True):
        if isinstance(outcome, writing.REFUSALS):
            continue
        if isinstance(outcome, BaseException):
            raise outcome
        text = _fit(printable(outcome.result.text))
        description = one_line(outcome.result.text, DESCRIPTION_CHARS)
        if outcome.result.seed.dropped:
            chars = " ".join(printable(c, keep_newlines=False) for c in outcome.result.seed.dropped)
            description = t(lang, "inline_dropped", chars=chars) + " · " + description
        title = t(lang, "inline_result_title", temperature=format_temperature(ask.temperature))
        results.append(_article(str(outcome.generation_id), title, text, description))
    if not results:
        refused = next(o for o in outcomes if isinstance(o, writing.REFUSALS))
        await _refuse(query, writing.refusal_text(services, lang, refused), lang)
        return
    await _answer(query, results)
    limits.written()
    log.info("inline user=%s results=%d", user.id, len(results))


def _fit(text: str) -> str:
    """At most Telegram's 4,096 UTF-16 units (escapes and astral characters count more)."""
    while (excess := utf16_len(text) - 4096) > 0:
        text = text[: -max(1, excess // 2)]  # each character is one or two units
    return text


async def chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A user posted one of their offered results: that generation is delivered."""
    result = update.chosen_inline_result
    if result is None or not result.result_id.isdecimal() or len(result.result_id) > 9:
        return
    services = get_services(context)
    generation = await services.storage.get_generation(int(result.result_id))
    if generation is None or generation.user_id != result.from_user.id:
        return  # forgotten since, or not theirs: nothing to record
    if generation.source == GenerationSource.INLINE.value:
        metrics.generation(metrics.INLINE, metrics.DELIVERED)
        await services.storage.mark_delivered(generation.id)
