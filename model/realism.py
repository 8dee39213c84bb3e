"""What a reader sees: how many generated words are not words, and how often text loops.

Bits per character say how well a model predicts held-out text; they do not say whether
what it writes reads like the language. Two figures do, measured on samples drawn at
the bot's default settings from fixed prompts and fixed RNG seeds:

- **non-words**: the share of generated words an independent spelling dictionary
  rejects (Debian's Hunspell dictionaries through Enchant). Where no installed
  dictionary fits the text's language, the fallback is the share of words never seen
  in the training text, and the report says so;
- **repetition**: the share of word 3-grams that repeat an earlier 3-gram of the same
  sample, next to the same figure for pieces of held-out real text of the same length,
  so that realism cannot be bought by looping over a few safe phrases.

Words are the whitespace-separated tokens with punctuation stripped; each sample's last
token is dropped, as it may have been cut mid-word. The same two figures are reported
for the n-gram baseline sampled the same way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import torch

from model.inference import choose
from model.mixture import Mixture
from model.network import CharGenerator
from model.ngram import KneserNey, NgramTables
from model.rng import gumbel_noise, request_key
from model.sample import DEFAULT_MIN_P, DEFAULT_TEMPERATURE, check_params, log_min_p, sample
from model.vocab import Vocabulary

SAMPLE_CHARS = 300  # a /write's default length
PROMPTS = 5
MIN_WORDS = 2500
SEEDS_PER_PROMPT = 10  # at least; more until MIN_WORDS words are in
# A dictionary "fits" a text when it accepts nearly all of its real words: Arabic text
# the project never saw loses 0-0.3 % to hunspell-ar; a dictionary of another
# language rejects most of them.
FIT_MAX_REJECTED = 0.10

# Script of a text -> the dictionary tags to try, in order.
SCRIPT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "ARABIC": ("ar",),
    "LATIN": ("en_US", "en_GB", "en", "fr", "de_DE", "es", "it_IT"),
    "CYRILLIC": ("ru_RU", "ru", "uk_UA"),
    "GREEK": ("el_GR",),
    "HEBREW": ("he_IL",),
}


def _is_punctuation(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def strip_punctuation(token: str) -> str:
    return "".join(ch for ch in token if not _is_punctuation(ch))


def sample_words(text: str) -> list[str]:
    """The words of one sample: whitespace-separated, punctuation stripped, the last
    token dropped (it may be cut), empty ones left out."""
    tokens = text.split()[:-1]
    return [w for w in (strip_punctuation(t) for t in tokens) if w]


class Dictionary(Protocol):
    description: str

    def check(self, word: str) -> bool: ...


class WordSet:
    """A dictionary of the words seen in a text (the fallback, and the tests' toy)."""

    def __init__(self, words: Iterable[str], description: str) -> None:
        self.words = frozenset(words)
        self.description = description

    def check(self, word: str) -> bool:
        return word in self.words


class EnchantDictionary:
    """A spelling dictionary installed on the system (Hunspell's, through Enchant)."""

    def __init__(self, tag: str) -> None:
        import enchant  # type: ignore[import-not-found]

        self._dict = enchant.Dict(tag)
        self.tag = tag
        self.description = f"spelling dictionary {tag!r} ({self._dict.provider.name} via Enchant)"
        self._cache: dict[str, bool] = {}

    def check(self, word: str) -> bool:
        known = self._cache.get(word)
        if known is None:
            known = self._cache[word] = bool(self._dict.check(word))
        return known


def main_script(text: str) -> str | None:
    """The Unicode script most of the letters of ``text`` belong to."""
    counts: dict[str, int] = {}
    for ch in text[:100_000]:
        if ch.isalpha():
            script = unicodedata.name(ch, "").split(" ")[0]
            counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda s: counts[s]) if counts else None


def rejected_share(dictionary: Dictionary, words: Sequence[str]) -> float:
    return sum(not dictionary.check(w) for w in words) / max(1, len(words))


def open_dictionary(
    real_text: str, training_text: str, language: str | None = None
) -> tuple[Dictionary, bool]:
    """The dictionary to judge samples of a model of ``training_text`` with, and whether
    it is a real spelling dictionary (False: the fallback of words seen in training).

    A system dictionary is used only if it accepts at least 90 % of the words of
    ``real_text`` (held-out text of the same corpus): then it fits the language.
    """
    script = main_script(training_text)
    tags = (language,) if language else SCRIPT_LANGUAGES.get(script or "", ())
    real_words = [w for line in real_text.splitlines() for w in sample_words(line + " .")]
    reason = f"no dictionary is known for {script or 'this'} script"
    try:
        import enchant

        for tag in tags:
            if not enchant.dict_exists(tag):
                reason = f"no {tag!r} dictionary is installed (Debian: hunspell-{tag[:2]})"
                continue
            candidate = EnchantDictionary(tag)
            share = rejected_share(candidate, real_words)
            if share <= FIT_MAX_REJECTED:
                return candidate, True
            reason = f"the {tag!r} dictionary rejects {share:.0%} of real held-out words"
    except ImportError:
        reason = "Enchant is not installed (pip install pyenchant; Debian: libenchant-2-2)"
    seen = {w for line in training_text.splitlines() for w in sample_words(line + " .")}
    fallback = WordSet(seen, f"FALLBACK: words seen in the training text ({reason})")
    return fallback, False


def repeated_trigrams(samples: Iterable[Sequence[str]]) -> tuple[int, int]:
    """Word 3-grams that repeat an earlier one of the same sample, and all 3-grams."""
    repeated = total = 0
    for words in samples:
        seen: set[tuple[str, ...]] = set()
        for i in range(len(words) - 2):
            gram = tuple(words[i : i + 3])
            total += 1
            if gram in seen:
                repeated += 1
            seen.add(gram)
    return repeated, total


@dataclass(frozen=True)
class TextFigures:
    """The two figures for one set of texts."""

    texts: int
    words: int
    rejected: int
    trigrams: int
    repeated: int

    @property
    def rejected_share(self) -> float:
        return self.rejected / max(1, self.words)

    @property
    def repeated_share(self) -> float:
        return self.repeated / max(1, self.trigrams)

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rejected_share": self.rejected_share,
            "repeated_share": self.repeated_share,
        }


def figures(texts: Sequence[str], dictionary: Dictionary) -> TextFigures:
    words = [sample_words(t) for t in texts]
    flat = [w for ws in words for w in ws]
    repeated, trigrams = repeated_trigrams(words)
    rejected = sum(not dictionary.check(w) for w in flat)
    return TextFigures(len(texts), len(flat), rejected, trigrams, repeated)


def prompts_from(text: str, vocab: Vocabulary, count: int = PROMPTS) -> list[str]:
    """Fixed prompts: the first word of ``count`` lines spread evenly over ``text``,
    followed by a space (so every generated word is the model's own)."""
    firsts = []
    for line in text.splitlines():
        tokens = line.split()
        if tokens and all(c in vocab for c in tokens[0]):
            firsts.append(tokens[0])
    if not firsts:
        return [vocab.itos[0]]
    step = max(1, len(firsts) // count)
    return [w + (" " if " " in vocab else "") for w in firsts[::step][:count]]


def real_pieces(text: str, length: int = SAMPLE_CHARS) -> list[str]:
    """Held-out text cut into pieces of ``length`` characters, each starting at a word
    boundary as samples do (their last word may be cut, as a sample's may). The text's
    first token is skipped: held-out text is cut from a corpus, maybe mid-word."""
    pieces = []
    p = 1
    while p < len(text) and not text[p - 1].isspace():
        p += 1
    while p + length <= len(text):
        pieces.append(text[p : p + length])
        p += length
        while p < len(text) and not text[p - 1].isspace():
            p += 1
    return pieces


Sampler = Callable[[str, int], str]


def draw_samples(sampler: Sampler, prompts: Sequence[str], min_words: int = MIN_WORDS) -> list[str]:
    """``SEEDS_PER_PROMPT`` samples per prompt (RNG seeds 0, 1, ...), then more rounds
    until at least ``min_words`` words are in."""
    texts: list[str] = []
    words = 0
    rng = 0
    while rng < SEEDS_PER_PROMPT or words < min_words:
        for prompt in prompts:
            text = sampler(prompt, rng)
            texts.append(text)
            words += len(sample_words(text))
        rng += 1
        if rng >= 4 * SEEDS_PER_PROMPT:
            break  # a model that writes few spaces: report what there is
    return texts


@dataclass(frozen=True)
class Settings:
    temperature: float = DEFAULT_TEMPERATURE
    min_p: float = DEFAULT_MIN_P
    length: int = SAMPLE_CHARS


def lstm_sampler(
    model: CharGenerator, vocab: Vocabulary, mixture: Mixture | None, settings: Settings
) -> Sampler:
    def draw(prompt: str, rng: int) -> str:
        return sample(
            model,
            vocab,
            prompt,
            settings.length,
            settings.temperature,
            rng_seed=rng,
            mixture=mixture,
            min_p=settings.min_p,
        ).continuation

    return draw


@torch.inference_mode()
def sample_ngram(
    tables: NgramTables,
    vocab: Vocabulary,
    seed: str,
    length: int,
    temperature: float,
    rng_seed: int,
    min_p: float = 0.0,
) -> str:
    """Sample from the n-gram alone, with the same temperature, min-p and noise as the
    network (``log p`` in place of its logits)."""
    check_params(temperature, length, None, min_p)
    ids = vocab.encode_seed(seed).ids
    state = 0
    for c in ids:
        state = int(tables.next_state[state, c])
    noise = gumbel_noise(request_key(rng_seed), torch.arange(length), len(vocab))
    inv_t = torch.tensor([[1.0 / temperature]])
    cut = None if min_p <= 0 else torch.tensor([[log_min_p(min_p)]])
    log_dist = tables.dist.log()
    out = []
    for t in range(length):
        x = int(choose(log_dist[state : state + 1], inv_t, noise[t : t + 1], None, cut)[0])
        out.append(x)
        state = int(tables.next_state[state, x])
    return vocab.decode(out)


def ngram_sampler(tables: NgramTables, vocab: Vocabulary, settings: Settings) -> Sampler:
    def draw(prompt: str, rng: int) -> str:
        return sample_ngram(
            tables, vocab, prompt, settings.length, settings.temperature, rng, settings.min_p
        )

    return draw


@dataclass
class Realism:
    """The figures for the model, the n-gram baseline and real held-out text."""

    dictionary: str
    is_dictionary: bool
    settings: dict[str, Any]
    prompts: list[str]
    model: TextFigures
    ngram: TextFigures
    ngram_order: int
    real: TextFigures
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dictionary": self.dictionary,
            "is_dictionary": self.is_dictionary,
            "settings": self.settings,
            "prompts": self.prompts,
            "model": self.model.to_dict(),
            "ngram": self.ngram.to_dict(),
            "ngram_order": self.ngram_order,
            "real": self.real.to_dict(),
            "examples": self.examples,
        }


def measure(
    model: CharGenerator,
    vocab: Vocabulary,
    mixture: Mixture | None,
    training_text: str,
    held_out: str,
    settings: Settings | None = None,
    ngram_order: int = 5,
    dictionary: Dictionary | None = None,
    min_words: int = MIN_WORDS,
    language: str | None = None,
) -> Realism:
    """The realism figures of a model trained on ``training_text``, its samples started
    from prompts taken from ``held_out`` (which also gives the real-text figures)."""
    settings = settings or Settings()
    is_dictionary = True
    if dictionary is None:
        dictionary, is_dictionary = open_dictionary(held_out, training_text, language)
    prompts = prompts_from(held_out, vocab)
    samples = draw_samples(lstm_sampler(model, vocab, mixture, settings), prompts, min_words)
    known = "".join(c for c in training_text[-400_000:] if c in vocab)
    tables = NgramTables(KneserNey(known, ngram_order, vocab.itos), vocab.itos)
    ngram_samples = draw_samples(ngram_sampler(tables, vocab, settings), prompts, min_words)
    return Realism(
        dictionary=dictionary.description,
        is_dictionary=is_dictionary,
        settings=asdict(settings),
        prompts=prompts,
        model=figures(samples, dictionary),
        ngram=figures(ngram_samples, dictionary),
        ngram_order=ngram_order,
        real=figures(real_pieces(held_out, settings.length), dictionary),
        examples=[p + s for p, s in zip(prompts, samples, strict=False)][:2],
    )


def format_realism(r: Realism) -> str:
    s = r.settings
    lines = [
        f"realism at temperature {s['temperature']}, min-p {s['min_p']}, "
        f"{s['length']}-character samples; judged by {r.dictionary}:",
        f"  {'':<34}{'non-words':>10}{'repeated 3-grams':>18}{'words':>8}",
    ]
    rows = [
        ("model", r.model),
        (f"Kneser-Ney {r.ngram_order}-gram, same settings", r.ngram),
        ("real held-out text", r.real),
    ]
    for label, f in rows:
        lines.append(f"  {label:<34}{f.rejected_share:>10.1%}{f.repeated_share:>18.1%}{f.words:>8}")
    return "\n".join(lines)
