"""Every user-facing string, per language: one module a language (``en``, ``ar``).

Add a language by adding a module with a dictionary and naming it in ``LANGUAGES``.
"""

from __future__ import annotations

import re
from typing import Final

from bot.texts.ar import AR
from bot.texts.en import EN

# --- right-to-left admin texts. Numbers, ids, losses and Latin names put
# into a right-to-left sentence are reordered by the bidi algorithm ("#12:" can show as
# ":12#", "0.8 vs 1.1" swapped); each value (with its "#") is wrapped in first-strong
# isolates, U+2068 ... U+2069, so it keeps its own direction and the sentence its order.
FSI, PDI = "\u2068", "\u2069"
ISOLATED_PREFIXES: Final = (
    "rt_", "models_", "use_", "discard_", "review_", "gen_", "export_", "stats",
)  # fmt: skip
_PLACEHOLDER = re.compile(r"#?\{[a-z0-9_]+\}")
for _key, _text in AR.items():
    if _key.startswith(ISOLATED_PREFIXES):
        AR[_key] = _PLACEHOLDER.sub(lambda m: FSI + m[0] + PDI, _text)

LANGUAGES: Final[dict[str, dict[str, str]]] = {"en": EN, "ar": AR}
DEFAULT_LANGUAGE: Final = "en"


def language_for(code: str | None) -> str:
    """Telegram sends IETF tags such as "ar" or "ar-EG"; unknown ones fall back to English."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def t(lang: str | None, key: str, **values: object) -> str:
    table = LANGUAGES.get(language_for(lang), EN)
    return table.get(key, EN[key]).format(**values)
