"""Errors that carry their sentence as a catalogue message, not as English text.

A refusal raised deep down (a training text that cannot be used, a download that failed,
a checkpoint that no longer loads) reaches the admin inside a reply such as "I can't
train on this text: …". Raised as a :class:`Worded` error with a message key and typed
values, it is said in the reader's language (:func:`cause`); its ``str()`` is the
reference (English) sentence, for logs. A value may itself be an error (a notice that
names its cause): it is said in the same language, as :func:`cause` says it.

A cause that outlives the process (a failed training run's, kept in its row) is stored
as the key and values (:meth:`Worded.stored`, JSON) and said when read (:func:`said`).

An error that carries no key (``model/`` raises plain sentences, and so does anything
unexpected) is said as it is in the reference language; in any other language it is one
catalogue sentence for its kind, since its English sentence would be the only foreign
words in the reply. The English sentence is logged, so the detail is not lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Final

from sqlalchemy.exc import SQLAlchemyError
from telegram.error import TelegramError

from bot.texts import language_for
from bot.texts.catalogue import REFERENCE, render
from model.errors import CheckpointError, CorpusError, SamplingError, SeedError

log = logging.getLogger(__name__)

# the sentence for an error without a key, by its kind (the first class that matches)
_UNWORDED: Final = (
    (CorpusError, "cause_text_unusable"),
    (CheckpointError, "cause_checkpoint_unusable"),
    (SeedError, "cause_seed_unusable"),
    (SamplingError, "cause_sampling"),
    (SQLAlchemyError, "cause_database"),
    (TelegramError, "cause_telegram"),
    (OSError, "cause_system"),
)
UNEXPECTED: Final = "cause_unexpected"


class Worded(Exception):
    def __init__(self, key: str, **values: object) -> None:
        self.key, self.values = key, values
        super().__init__(say(REFERENCE, key, values))

    def stored(self) -> str:
        """The key and values as one JSON text (values a number or a string each)."""
        values = {k: v.stored() if isinstance(v, Worded) else v for k, v in self.values.items()}
        return json.dumps({"key": self.key, "values": values}, ensure_ascii=False)


class Foreign(Exception):
    """An error without a key and the English words to say it with (``describe()``'s,
    which leave out SQL and paths): said as ``error`` is in other languages."""

    def __init__(self, error: BaseException, english: str) -> None:
        self.error = error
        super().__init__(english)


class CheckpointRefused(Worded, CheckpointError):
    """A version's file the bot itself refuses (missing, or not the one registered)."""


def say(lang: str, key: str, values: Mapping[str, object]) -> str:
    words = {k: cause(lang, v) if isinstance(v, BaseException) else v for k, v in values.items()}
    return render(lang, key, words)


def cause(lang: str | None, error: BaseException, english: str | None = None) -> str:
    """What went wrong, in ``lang``: see the module's docstring. ``english`` is what to
    say in the reference language for an error without a key (``str(error)`` if None)."""
    code = language_for(lang)
    if isinstance(error, Foreign):
        return cause(code, error.error, str(error))
    if isinstance(error, Worded):
        return say(code, error.key, error.values)
    if code == REFERENCE:
        return str(error) if english is None else english
    key = next((k for kind, k in _UNWORDED if isinstance(error, kind)), UNEXPECTED)
    log.info("said as %s in %s: %s", key, code, error)
    return render(code, key, {})


def loaded(text: str) -> Worded | None:
    """The :class:`Worded` error a :meth:`Worded.stored` text names; None for other text."""
    try:
        found = json.loads(text)
    except ValueError:
        return None
    if not isinstance(found, dict) or not isinstance(found.get("key"), str):
        return None
    values = found.get("values")
    if not isinstance(values, dict):
        return None
    inner = {k: (loaded(v) or v) if isinstance(v, str) else v for k, v in values.items()}
    try:
        return Worded(found["key"], **inner)
    except LookupError:  # a key this release's catalogues no longer have
        return None


def said(lang: str | None, stored: str) -> str:
    """A stored cause in ``lang``: a :meth:`Worded.stored` text, or a plain sentence
    (rows written before causes were stored as keys, or a cause from ``model/``)."""
    worded = loaded(stored)
    if worded is not None:
        return cause(lang, worded)
    code = language_for(lang)
    # a key a newer release stored (a rolling upgrade) is no sentence in any language
    if code == REFERENCE and not stored.startswith('{"key"'):
        return stored
    log.info("said as %s in %s: %s", UNEXPECTED, code, stored)
    return render(code, UNEXPECTED, {})
