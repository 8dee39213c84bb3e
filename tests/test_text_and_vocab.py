import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.errors import CorpusError, SeedError
from model.text import decode_corpus, normalize_text
from model.vocab import Vocabulary

ARABIC = Vocabulary.from_text("كتب الولد في يوم جميل. ٠١٢٣")


def test_normalisation_removes_invisible_controls_and_unifies_newlines() -> None:
    raw = "a\u200bb\u200fc\u202ed\r\ne\rf\ufeff"
    assert normalize_text(raw) == "abcd\ne\nf"


def test_normalisation_composes_to_nfc() -> None:
    assert normalize_text("e\u0301") == "\u00e9"


def test_bad_utf8_is_a_corpus_error_naming_the_position() -> None:
    with pytest.raises(CorpusError, match=r"not valid UTF-8.*position 2"):
        decode_corpus(b"ab\xff\xfe", name="upload.txt")


def test_utf8_bom_is_accepted_and_stripped() -> None:
    assert decode_corpus("\ufeffمرحبا".encode()) == "مرحبا"


def test_vocabulary_is_sorted_set_and_round_trips() -> None:
    vocab = Vocabulary.from_text("cabbage")
    assert vocab.itos == ["a", "b", "c", "e", "g"]
    assert vocab.decode(vocab.encode("cab")) == "cab"
    assert Vocabulary.from_list(vocab.to_list()) == vocab


def test_persian_lookalikes_fold_onto_arabic_letters() -> None:
    enc = ARABIC.encode_seed("کتب یوم")  # Persian keheh and yeh
    assert enc.text == "كتب يوم"
    assert enc.dropped == []
    assert enc.folded == {"ک": "ك", "ی": "ي"}


def test_persian_digits_fold_onto_arabic_indic_digits() -> None:
    assert ARABIC.encode_seed("۰۱").text == "٠١"


def test_presentation_forms_fold_to_their_compatibility_form() -> None:
    # U+FEDF U+FEE4 are initial/medial forms of lam and meem, as PDFs copy them
    enc = ARABIC.encode_seed("\ufedf\ufeb3 ولد")
    assert enc.text.startswith("ل")


def test_unknown_characters_are_dropped_and_reported_once() -> None:
    enc = ARABIC.encode_seed("ولد🙂 xx جميل")
    assert enc.text == "ولد  جميل"
    assert enc.dropped == ["🙂", "x"]


def test_seed_with_no_known_characters_is_a_clear_error() -> None:
    with pytest.raises(SeedError, match="none of the seed's characters are known"):
        ARABIC.encode_seed("hello")


@pytest.mark.parametrize("seed", ["", "   ", "\u200b\n"])
def test_empty_seed_is_a_clear_error(seed: str) -> None:
    with pytest.raises(SeedError, match="empty"):
        ARABIC.encode_seed(seed)


@given(st.text(min_size=1, max_size=80))
def test_encode_seed_never_raises_key_error_and_only_emits_known_ids(seed: str) -> None:
    try:
        enc = ARABIC.encode_seed(seed)
    except SeedError:
        return
    assert all(0 <= i < len(ARABIC) for i in enc.ids)
    assert ARABIC.decode(enc.ids) == enc.text
