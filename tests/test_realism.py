"""The realism figures: non-words by a dictionary, repeated word 3-grams, on known answers."""

from __future__ import annotations

import pytest

from model.mixture import fit_mixture
from model.ngram import KneserNey, NgramTables
from model.realism import (
    Settings,
    WordSet,
    draw_samples,
    figures,
    measure,
    open_dictionary,
    prompts_from,
    real_pieces,
    repeated_trigrams,
    sample_ngram,
    sample_words,
)
from model.split import split_text
from model.train import TrainResult

TOY = WordSet({"the", "cat", "sat", "on", "mat"}, "toy")


def test_words_strip_punctuation_and_drop_the_last_token() -> None:
    assert sample_words("the cat, sat. on «the» mat") == ["the", "cat", "sat", "on", "the"]
    assert sample_words("قال: «نعم»، ثم مش") == ["قال", "نعم", "ثم"]
    assert sample_words("... ! word") == []  # punctuation-only tokens are no words
    assert sample_words("one") == []


def test_non_words_and_repetition_on_a_toy_dictionary() -> None:
    texts = [
        "the cat sat on the cat sat on xx",  # 8 words; 'xx' dropped as the last token
        "the dgo sat on teh mat cut",  # 6 words, 2 rejected ('dgo', 'teh')
    ]
    f = figures(texts, TOY)
    assert (f.texts, f.words, f.rejected) == (2, 14, 2)
    assert f.rejected_share == pytest.approx(2 / 14)
    # sample 1: the-cat-sat, cat-sat-on, sat-on-the, on-the-cat, the-cat-sat (repeat),
    # cat-sat-on (repeat): 6 trigrams, 2 repeated; sample 2: 4 trigrams, none repeated.
    assert (f.trigrams, f.repeated) == (10, 2)
    assert f.repeated_share == pytest.approx(0.2)


def test_repetition_counts_within_a_sample_only() -> None:
    assert repeated_trigrams([["a", "b", "c"], ["a", "b", "c"]]) == (0, 2)
    assert repeated_trigrams([["a", "b", "c", "a", "b", "c"]]) == (1, 4)


def test_arabic_text_is_judged_by_the_arabic_dictionary_when_installed() -> None:
    pytest.importorskip("enchant")
    import enchant

    if not enchant.dict_exists("ar"):
        pytest.skip("hunspell-ar is not installed (.ci/dictionary.sh installs it)")
    real = "ذهب الولد إلى المدرسة في الصباح .\nالبحر هادئ اليوم والسماء صافية .\n"
    dictionary, is_dictionary = open_dictionary(real, real * 3)
    assert is_dictionary and "'ar'" in dictionary.description
    f = figures(["ذهب الولد إلى المدرسسسة في الصباح ."], dictionary)
    assert (f.words, f.rejected) == (6, 1)


def test_without_a_fitting_dictionary_words_seen_in_training_are_the_fallback() -> None:
    training = "zork blip zork\nblip frob\n"
    dictionary, is_dictionary = open_dictionary("zork frob blip", training)
    assert not is_dictionary
    assert dictionary.description.startswith("FALLBACK: words seen in the training text")
    f = figures(["zork quux blip frob end"], dictionary)
    assert (f.words, f.rejected) == (4, 1)


def test_prompts_real_pieces_and_enough_words(trained_tiny: TrainResult, tiny_text: str) -> None:
    vocab = trained_tiny.vocab
    prompts = prompts_from(tiny_text, vocab, 3)
    assert len(prompts) == 3 and all(p.endswith(" ") and p.split()[0] in tiny_text for p in prompts)
    # each from a word start, the text's first token skipped (it may be cut)
    assert real_pieces("b cd ef gh ij kl", 4) == ["cd e", "gh i"]
    assert real_pieces(" " + "x" * 650, 300) == ["x" * 300]
    texts = draw_samples(lambda prompt, rng: "a b c d e f g h i j", ["p"], min_words=50)
    assert len(texts) == 10  # 10 seeds x 1 prompt give 9 words each: 90 >= 50
    texts = draw_samples(lambda prompt, rng: "a b c", ["p"], min_words=30)
    assert len(texts) == 15  # two words a sample: 5 more seeds to reach 30


def test_the_ngram_is_sampled_with_the_same_settings(
    trained_tiny: TrainResult, tiny_text: str
) -> None:
    vocab = trained_tiny.vocab
    head, _ = split_text(tiny_text, 0.1)
    tables = NgramTables(KneserNey(head, 4, vocab.itos), vocab.itos)
    a = sample_ngram(tables, vocab, "في ", 80, 0.8, 1)
    assert len(a) == 80 and a == sample_ngram(tables, vocab, "في ", 80, 0.8, 1)
    assert a != sample_ngram(tables, vocab, "في ", 80, 0.8, 2)
    # min-p close to 1: the most likely character every time, whatever the seed
    assert sample_ngram(tables, vocab, "في ", 40, 1.0, 1, 0.999) == sample_ngram(
        tables, vocab, "في ", 40, 1.0, 2, 0.999
    )


def test_measure_reports_model_ngram_and_real_text(
    trained_tiny: TrainResult, tiny_text: str
) -> None:
    head, tail = split_text(tiny_text, 0.2)
    seen = WordSet({w for line in head.splitlines() for w in sample_words(line + " .")}, "seen")
    mixture = fit_mixture(trained_tiny.model, trained_tiny.vocab, head, tail, orders=(3,))
    r = measure(
        trained_tiny.model,
        trained_tiny.vocab,
        mixture,
        head,
        tail,
        Settings(temperature=0.5, min_p=0.05, length=120),
        ngram_order=3,
        dictionary=seen,
        min_words=200,
    )
    assert r.model.words >= 200 and r.ngram.words >= 200
    assert r.real.rejected == 0  # the tiny text repeats its lines: every word was seen
    assert r.settings == {"temperature": 0.5, "min_p": 0.05, "length": 120}
    assert 0 <= r.model.rejected_share <= 1 and 0 <= r.model.repeated_share <= 1
