"""Splitting a text into its training head, validation part and test part, in text
order (the test part last, never trained on nor used to choose anything).
"""

from __future__ import annotations

import math

from model.errors import CorpusError


def split_sizes(n: int, val_fraction: float) -> tuple[int, int]:
    """Characters in the training head and the validation tail of an ``n``-char text."""
    n_val = math.ceil(n * val_fraction) if val_fraction > 0 else 0
    return n - n_val, n_val


def part_sizes(n: int, val_fraction: float, test_fraction: float = 0.0) -> tuple[int, int, int]:
    """Characters in the training part, the validation part and the test part (in text
    order) of an ``n``-character text. The test part is the last ``test_fraction``; the
    validation part the ``val_fraction`` before it. Without a test part this is
    :func:`split_sizes`."""
    n_test = math.ceil(n * test_fraction) if test_fraction > 0 else 0
    n_val = math.ceil(n * val_fraction) if val_fraction > 0 else 0
    n_val = min(n_val, n - n_test)
    return n - n_test - n_val, n_val, n_test


def split_parts(text: str, val_fraction: float, test_fraction: float = 0.0) -> tuple[str, str, str]:
    """The training, validation and test parts of ``text``, in that order."""
    n_train, n_val, _ = part_sizes(len(text), val_fraction, test_fraction)
    return text[:n_train], text[n_train : n_train + n_val], text[n_train + n_val :]


def min_corpus_chars(seq_len: int, val_fraction: float, test_fraction: float = 0.0) -> int:
    """The shortest text that yields one training window (and usable held-out parts)."""
    n = seq_len + 1
    while True:
        n_train, n_val, n_test = part_sizes(n, val_fraction, test_fraction)
        if (
            n_train >= seq_len + 1
            and (val_fraction == 0 or n_val >= 2)
            and (test_fraction == 0 or n_test >= 2)
        ):
            return n
        n += 1


def split_text(text: str, val_fraction: float) -> tuple[str, str]:
    n_train, _ = split_sizes(len(text), val_fraction)
    return text[:n_train], text[n_train:]


def check_corpus_length(
    text: str, seq_len: int, val_fraction: float, test_fraction: float = 0.0
) -> None:
    need = min_corpus_chars(seq_len, val_fraction, test_fraction)
    if len(text) < need:
        held_out = (f" plus a {val_fraction:.0%} validation tail" if val_fraction else "") + (
            f" and a {test_fraction:.0%} test part" if test_fraction else ""
        )
        raise CorpusError(
            f"the text is too short to train on: {len(text)} characters after normalisation, "
            f"at least {need} are needed for one training window of {seq_len} characters"
            + held_out
            + "."
        )
