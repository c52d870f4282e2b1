"""Relay keys have One API's 48-character shape, so keys it issued and keys we issue look alike."""

from __future__ import annotations

import re

from oneapi.services.keys import token_key

ALNUM = re.compile(r"[0-9a-zA-Z]{16}")
HEX_CHARS = set("0123456789abcdefABCDEF")


def test_key_is_48_chars_of_alnum_then_hex() -> None:
    for _ in range(200):
        key = token_key()
        assert len(key) == 48
        assert ALNUM.fullmatch(key[:16]), key
        assert set(key[16:]) <= HEX_CHARS, key


def test_hex_part_upper_cases_letters_at_even_index_and_lower_cases_odd() -> None:
    for _ in range(200):
        tail = token_key()[16:]
        for index, char in enumerate(tail):
            if char.isalpha():
                expected = char.upper() if index % 2 == 0 else char.lower()
                assert char == expected, (tail, index)


def test_keys_are_unique_over_many_draws() -> None:
    keys = {token_key() for _ in range(20_000)}
    assert len(keys) == 20_000
    assert len({key[:16] for key in keys}) == 20_000
