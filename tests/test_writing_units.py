"""The small pure rules behind the buttons and inline mode."""

from __future__ import annotations

import pytest

from bot.handlers.buttons import _parse
from bot.handlers.inline import _fit
from bot.telegram.parsing import utf16_len


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("w:again:12", ("again", 12)),
        ("w:more:2147483647", ("more", 2147483647)),
        ("w:more:2147483648", None),  # cannot be a 32-bit generation id
        ("w:again:99999999999", None),
        ("w:again:١٢", None),  # only ASCII digits reach int()
        ("w:again:-1", None),
        ("w:explode:1", None),
        ("w:again:1:extra", None),
        ("w:again:", None),
    ],
)
def test_button_data_is_parsed_strictly(data: str, expected: tuple[str, int] | None) -> None:
    assert _parse(data) == expected


@pytest.mark.parametrize("text", ["a" * 5000, "😀" * 3000, "x" + "😀" * 2047 + "yz", "ok"])
def test_inline_texts_fit_telegrams_limit_in_utf16_units(text: str) -> None:
    fitted = _fit(text)
    assert utf16_len(fitted) <= 4096 and text.startswith(fitted)
    assert utf16_len(fitted) >= min(utf16_len(text), 4095)  # cut no more than needed
