"""Relay keys as clients present them (SPEC §3.1 steps 1–3)."""

from __future__ import annotations

import pytest

from oneapi.relay.keys import masked, presented_key

KEY = "abcdEFGH12345678" + "A1b2C3d4E5f6A7b8C9d0E1f2A3b4C5d6"


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": f"Bearer sk-{KEY}"},
        {"authorization": f"bearer sk-{KEY}"},
        {"authorization": f"sk-{KEY}"},
        {"authorization": KEY},
        {"x-api-key": f"sk-{KEY}"},
        {"api-key": KEY},
        {"authorization": f"Bearer laisky-{KEY}"},
    ],
)
def test_key_found_in_every_accepted_form(headers: dict[str, str]) -> None:
    assert presented_key(headers, "sk-").key == KEY
    assert presented_key(headers, "sk-").pinned_channel is None


def test_channel_pin_suffix() -> None:
    found = presented_key({"authorization": f"Bearer sk-{KEY}-12"}, "sk-")
    assert (found.key, found.pinned_channel) == (KEY, "12")


def test_custom_prefix() -> None:
    assert presented_key({"authorization": f"Bearer my-{KEY}"}, "my-").key == KEY


def test_no_key() -> None:
    assert presented_key({}, "sk-").key == ""


def test_masked_hides_the_middle() -> None:
    assert masked(KEY) == "abcd...C5d6"
    assert masked("short") == "*****"
