"""Errors that carry their sentence as a catalogue message, not as English text.

A refusal raised deep down (a training text that cannot be used, a download that failed)
reaches the admin inside a reply such as "I can't train on this text: …". Raised as a
:class:`Worded` error with a message key and values, it is said in the reader's language
(:func:`cause`); its ``str()`` is the reference (English) sentence, for logs.
"""

from __future__ import annotations

from bot.texts import language_for
from bot.texts.catalogue import REFERENCE, render


class Worded(Exception):
    def __init__(self, key: str, **values: object) -> None:
        self.key, self.values = key, values
        super().__init__(render(REFERENCE, key, values))


def cause(lang: str | None, error: BaseException) -> str:
    """What went wrong, in ``lang`` where the error is :class:`Worded`, else as raised."""
    if isinstance(error, Worded):
        return render(language_for(lang), error.key, error.values)
    return str(error)
