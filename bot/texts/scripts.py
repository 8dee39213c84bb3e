"""Naming the alphabet a model knows, in the reader's language.

A seed with none of the model's characters is answered with the script the model was
trained on ("Arabic"), not a riddle ("the language of my training corpus"). The script is
the one most of the model's letters belong to, found from each letter's Unicode name
(``ARABIC LETTER ALEF``: Arabic); its name in the reader's language comes from CLDR
through Babel (``العربية`` in Arabic, ``Arabic`` in English), so a new catalogue needs
no list of script names of its own.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Final

from babel import Locale, UnknownLocaleError

# The first word of a letter's Unicode name, for the scripts a corpus is likely to use,
# and the ISO 15924 code CLDR names them by.
SCRIPT_CODES: Final = {
    "ARABIC": "Arab", "LATIN": "Latn", "CYRILLIC": "Cyrl", "GREEK": "Grek",
    "HEBREW": "Hebr", "DEVANAGARI": "Deva", "BENGALI": "Beng", "THAI": "Thai",
    "ARMENIAN": "Armn", "GEORGIAN": "Geor", "HANGUL": "Hang", "HIRAGANA": "Hira",
    "KATAKANA": "Kana", "CJK": "Hani", "ETHIOPIC": "Ethi", "TAMIL": "Taml",
}  # fmt: skip
# Below this share of the letters, no script is "the" alphabet and none is named.
MIN_SHARE: Final = 0.5


def dominant_script(characters: Iterable[str]) -> str | None:
    """The ISO 15924 code of the script most of ``characters``' letters are written in,
    or None when there are no letters or no script has most of them."""
    counts: Counter[str] = Counter()
    letters = 0
    for ch in characters:
        if not unicodedata.category(ch).startswith("L"):
            continue
        letters += 1
        first = unicodedata.name(ch, "").split(" ")[0]
        if first in SCRIPT_CODES:
            counts[SCRIPT_CODES[first]] += 1
    if not counts:
        return None
    code, count = counts.most_common(1)[0]
    return code if count >= MIN_SHARE * letters else None


def script_name(language: str, code: str) -> str | None:
    """The script's name in ``language`` (CLDR), or None when CLDR has none."""
    try:
        names = Locale.parse(language).scripts
    except (UnknownLocaleError, ValueError):
        return None
    name = names.get(code)
    return str(name) if name else None
