"""The character vocabulary and the policy for seed characters it does not know.

Policy for a seed character outside the vocabulary, tried in this order:
1. Arabic look-alikes fold onto the Arabic letter when only that one is known
   (Persian/Urdu ``ی``→``ي``, ``ک``→``ك``, ``ە``/``ھ``→``ه``, Persian digits→Arabic-Indic).
2. Compatibility forms fold onto their NFKC form when every character of that form is
   known (Arabic presentation forms copied from PDFs, full-width Latin, ligatures).
3. Letter case folds (``A``→``a`` or back) when only the other case is known.
4. Whitespace the vocabulary lacks becomes a plain space (if a space is known).
5. Anything else is dropped and reported to the caller; whitespace that dropping leaves
   at the start of the seed is trimmed.
A seed with nothing left after this is a :class:`SeedError`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from model.errors import CorpusError, SeedError
from model.text import normalize_text

LOOKALIKES: dict[str, str] = {
    "\u06cc": "\u064a",  # Persian yeh -> Arabic yeh
    "\u06d2": "\u064a",  # Urdu yeh barree -> Arabic yeh
    "\u0649": "\u064a",  # alef maksura -> yeh, only when maksura itself is unknown
    "\u06a9": "\u0643",  # keheh -> kaf
    "\u06aa": "\u0643",  # swash kaf -> kaf
    "\u06d5": "\u0647",  # ae -> heh
    "\u06be": "\u0647",  # heh doachashmee -> heh
    "\u06c1": "\u0647",  # heh goal -> heh
    "\u06c0": "\u0629",  # heh with yeh above -> teh marbuta
    "\u0671": "\u0627",  # alef wasla -> alef
    **{chr(0x06F0 + d): chr(0x0660 + d) for d in range(10)},  # Persian digits
}


@dataclass(frozen=True)
class SeedEncoding:
    """A seed made ready for the model, and what the policy did to it."""

    ids: list[int]
    text: str  # the seed as the model sees it (after folding and dropping)
    dropped: list[str] = field(default_factory=list)  # distinct dropped characters, in order
    folded: dict[str, str] = field(default_factory=dict)  # original char -> replacement


class Vocabulary:
    """Sorted set of the corpus characters, with ``stoi``/``itos`` as in the reference."""

    def __init__(self, chars: Iterable[str]) -> None:
        self.itos: list[str] = sorted(set(chars))
        if not self.itos:
            raise CorpusError("the text is empty: there is nothing to build a vocabulary from.")
        if any(len(c) != 1 for c in self.itos):
            raise ValueError("vocabulary entries must be single characters")
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        return cls(normalize_text(text))

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, ch: object) -> bool:
        return ch in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

    def __hash__(self) -> int:
        return hash(tuple(self.itos))

    def encode(self, text: str) -> list[int]:
        """Strict encoding for training text: every character must be known."""
        try:
            return [self.stoi[c] for c in text]
        except KeyError as exc:
            raise CorpusError(f"character {exc.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.itos[i] for i in ids)

    def _fold(self, ch: str) -> str | None:
        target = LOOKALIKES.get(ch)
        if target is not None and target in self.stoi:
            return target
        compat = unicodedata.normalize("NFKC", ch)
        if compat != ch and compat and all(c in self.stoi for c in compat):
            return compat
        for other in (ch.lower(), ch.upper()):
            if other != ch and len(other) == 1 and other in self.stoi:
                return other
        if ch.isspace() and " " in self.stoi:
            return " "
        return None

    def encode_seed(self, seed: str) -> SeedEncoding:
        """Encode a user's seed under the module's policy; never raises ``KeyError``."""
        seed = normalize_text(seed)
        if not seed.strip():
            raise SeedError("the seed is empty: give some text to continue.")
        out: list[str] = []
        dropped: list[str] = []
        folded: dict[str, str] = {}
        for ch in seed:
            if ch in self.stoi:
                out.append(ch)
                continue
            replacement = self._fold(ch)
            if replacement is None:
                if ch not in dropped:
                    dropped.append(ch)
                continue
            folded[ch] = replacement
            out.append(replacement)
        text = "".join(out)
        if dropped and not seed[:1].isspace():
            # What dropping left at the start ("Z في" -> " في") is not the writer's
            # spacing: a continuation must not begin with a space the user never typed.
            text = text.lstrip()
        if not text.strip():
            shown = " ".join(dropped[:20])
            raise SeedError(
                "none of the seed's characters are known to the model "
                f"(unknown: {shown}); write the seed in the language the model was trained on."
            )
        return SeedEncoding(
            ids=[self.stoi[c] for c in text], text=text, dropped=dropped, folded=folded
        )

    def to_list(self) -> list[str]:
        return list(self.itos)

    @classmethod
    def _in_order(cls, chars: Sequence[str]) -> Vocabulary:
        if len(set(chars)) != len(chars):
            raise ValueError("serialised vocabulary has repeated characters")
        vocab = cls(chars)  # validates the entries
        vocab.itos = list(chars)
        vocab.stoi = {c: i for i, c in enumerate(vocab.itos)}
        return vocab

    @classmethod
    def from_list(cls, chars: Sequence[str]) -> Vocabulary:
        """The vocabulary in the stored order.

        A trained-from-scratch vocabulary is sorted; one grown by fine-tuning
        is the old one with the new characters appended, so every old character keeps
        its id. Both load; only repeated characters are refused.
        """
        return cls._in_order(list(chars))

    def extended(self, text: str) -> Vocabulary:
        """This vocabulary with the characters of ``text`` it lacks appended (sorted)."""
        new = sorted(set(normalize_text(text)) - set(self.itos))
        return Vocabulary._in_order([*self.itos, *new])
