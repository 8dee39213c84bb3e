"""One generation, whatever asked for it: /write, a button under a text, an inline query.

There are three ways to ask for a text; all three must give the same thing (the
user's preferences, the engine's seed policy, a stored row with where it came from), so
the steps shared by every source live here and the handlers only parse and reply:

* :func:`preferences` reads (and refreshes) the user's row: temperature and length, each
  falling back to the bot's default while the user has not chosen;
* :func:`generate_and_store` asks the engine and stores the row *before* anything is
  sent, marked not delivered, and returns the row's id; the engine's refusals
  (unknown seed, busy, stopping) propagate, and :func:`refusal_key` names the text that
  explains each;
* :func:`button_temperature` is the one rule for "colder" / "hotter".

The per-user limits (:func:`bot.rules.limits.admit`) are applied by the handlers before any of
this, because each source tells a refusal in its own way (a reply, a button alert, an
inline article).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from telegram import User

from bot import metrics
from bot.storage import GenerationSource
from bot.storage import User as StoredUser
from bot.telegram.replies import remember_user
from bot.telegram.services import Services
from bot.texts import language_for, t
from bot.texts.scripts import dominant_script, script_name
from model.engine import EngineBusy, EngineStopped
from model.engine.requests import GenerationResult
from model.errors import SeedError

# How far one press of "colder" / "hotter" moves the temperature.
TEMPERATURE_STEP = 0.3
# The bounds of /length: DEFAULT_LENGTH's own (bot.settings.config).
MIN_LENGTH = 1
MAX_LENGTH = 4000


@dataclass(frozen=True)
class Preferences:
    temperature: float
    length: int


@dataclass(frozen=True)
class Ask:
    """What to generate, for whom, and why."""

    user_id: int
    chat_id: int
    seed: str
    temperature: float
    length: int
    source: GenerationSource = GenerationSource.COMMAND
    parent_id: int | None = None
    # The Telegram update asking: stored with the text, so whoever takes the update over
    # from a process that died sends this text rather than writing another.
    update_id: int | None = None


@dataclass(frozen=True)
class Written:
    generation_id: int
    result: GenerationResult
    latency_ms: float


async def preferences(services: Services, user: User) -> Preferences:
    """The user's temperature and length (the defaults where unset); refreshes the row."""
    return _with_defaults(services, await remember_user(services, user))


async def stored_preferences(services: Services, user_id: int) -> Preferences:
    """As :func:`preferences`, for showing them: reads, never creates the user's row."""
    return _with_defaults(services, await services.storage.get_user(user_id))


def _with_defaults(services: Services, profile: StoredUser | None) -> Preferences:
    s = services.settings
    if profile is None:
        return Preferences(s.default_temperature, s.default_length)
    return Preferences(
        temperature=s.default_temperature if profile.temperature is None else profile.temperature,
        length=s.default_length if profile.length is None else profile.length,
    )


async def generate_and_store(services: Services, ask: Ask, received: float) -> Written:
    """Generate and store, not yet delivered; ``received`` is the ``perf_counter()`` at
    which the request arrived (the stored latency counts from there).

    Raises SeedError, EngineBusy or EngineStopped, before anything is stored.
    """
    try:
        result = await services.engine.generate(
            ask.seed, ask.temperature, ask.length, key=ask.user_id
        )
    except REFUSALS as exc:
        metrics.generation(source_label(ask.source), metrics.REFUSED, refusal_key(exc))
        raise
    except Exception:
        metrics.generation(source_label(ask.source), metrics.FAILED)
        raise
    latency_ms = (time.perf_counter() - received) * 1000
    # Stored before replying, as not yet delivered: an answered generation must never be
    # missing from history, and a crash before the confirmation reads as undelivered.
    try:
        generation_id = await _store(services, ask, result, latency_ms)
    except Exception:  # the text is lost with the row: a failed generation
        metrics.generation(source_label(ask.source), metrics.FAILED)
        raise
    return Written(generation_id, result, latency_ms)


async def _store(services: Services, ask: Ask, result: GenerationResult, latency_ms: float) -> int:
    return await services.storage.add_generation(
        user_id=ask.user_id,
        chat_id=ask.chat_id,
        seed=ask.seed,
        temperature=ask.temperature,
        length=ask.length,
        output=result.text,
        model_version_id=result.model_version if isinstance(result.model_version, int) else None,
        latency_ms=latency_ms,
        dropped_chars="".join(result.seed.dropped) or None,
        delivered=False,
        source=ask.source,
        parent_id=ask.parent_id,
        update_id=ask.update_id,
    )


def refusal_key(error: Exception) -> str:
    """The text key explaining an engine refusal raised by :func:`generate_and_store`."""
    if isinstance(error, SeedError):
        return "seed_unknown"  # checked against the vocabulary of the model serving
    if isinstance(error, EngineBusy):
        return "busy"
    if isinstance(error, EngineStopped):
        return "restarting"
    raise TypeError(f"not an engine refusal: {error!r}")


def refusal_text(services: Services, lang: str | None, error: Exception) -> str:
    """The reply to an engine refusal, in ``lang``. An unknown seed is told which script
    the serving model was trained on ("Arabic"), read from its vocabulary."""
    key = refusal_key(error)
    if key == "seed_unknown":
        code = dominant_script(services.engine.vocab.itos)
        name = script_name(language_for(lang), code) if code else None
        if name:
            return t(lang, "seed_unknown_script", script=name)
    return t(lang, key)


REFUSALS = (SeedError, EngineBusy, EngineStopped)


def source_label(source: GenerationSource | str) -> str:
    """The metrics' name for a generation source (/write is "write")."""
    return metrics.WRITE if source == GenerationSource.COMMAND else str(source)


def button_temperature(services: Services, temperature: float, hotter: bool) -> float:
    """One step colder or hotter, within the allowed range, rounded to what people type."""
    s = services.settings
    moved = temperature + (TEMPERATURE_STEP if hotter else -TEMPERATURE_STEP)
    return round(min(s.max_temperature, max(s.min_temperature, moved)), 2)


def continuation_seed(services: Services, text: str) -> str:
    """The seed that continues ``text``: its end, as much as a seed may hold."""
    return text[-services.settings.max_seed_chars :]
