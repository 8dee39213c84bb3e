"""Every user-facing string, per language: one Fluent catalogue a language in
``locales/`` (``en.ftl``, the reference, and ``ar.ftl``), rendered by
:mod:`bot.texts.catalogue` with CLDR plural rules and, in right-to-left languages, every
value isolated. Add a language by adding ``locales/<code>.ftl``.
"""

from __future__ import annotations

from typing import Final

from bot.texts.catalogue import REFERENCE, catalogues, render

LANGUAGES: Final[tuple[str, ...]] = tuple(catalogues())
DEFAULT_LANGUAGE: Final = REFERENCE


def language_for(code: str | None) -> str:
    """Telegram sends IETF tags such as "ar" or "ar-EG"; unknown ones fall back to English."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def t(lang: str | None, key: str, **values: object) -> str:
    """The message ``key`` in the user's language, with ``values`` put in by kind."""
    return render(language_for(lang), key, values)
