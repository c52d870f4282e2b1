"""Stripe top-up rules without a server: amounts, return-URL origins, form encoding, signatures."""

from __future__ import annotations

import math

import pytest

from oneapi.services import payment_rules as rules
from oneapi.services.stripe_api import form_pairs
from oneapi.services.stripe_signature import SignatureError, parse_header, sign, verify


@pytest.mark.parametrize(
    ("amount", "minimum", "cents"),
    [(10, 1, 1000), (19.99, 1, 1999), (5, 5, 500), (1.29, 0, 129), (100_000, 1, 10_000_000)],
)
def test_amounts_become_whole_cents(amount: float, minimum: int, cents: int) -> None:
    assert rules.amount_cents(amount, minimum) == cents


@pytest.mark.parametrize(
    ("amount", "minimum", "message"),
    [
        (1.001, 1, "two decimal"),
        (4.99, 5, "minimum top-up amount is $5"),
        (100_000.01, 1, "too large"),
        (math.nan, 1, "positive finite"),
        (math.inf, 1, "positive finite"),
        (0, 1, "positive finite"),
        (0.5, 0, "minimum top-up amount is $1"),
    ],
)
def test_bad_amounts_say_why(amount: float, minimum: int, message: str) -> None:
    with pytest.raises(rules.AmountError, match=message.replace("$", r"\$")):
        rules.amount_cents(amount, minimum)


def test_quota_is_dollars_times_quota_per_unit_rounded_down() -> None:
    assert rules.quota_for(1999, 500000) == 9_995_000
    assert rules.quota_for(1, 7) == 0
    assert rules.quota_for(1000, 0) == 0


@pytest.mark.parametrize(
    ("raw", "key", "origin"),
    [
        ("https://pay.example.com/", "sk_live_x", "https://pay.example.com"),
        ("https://pay.example.com:8443", "sk_live_x", "https://pay.example.com:8443"),
        ("http://localhost:3000", "sk_test_x", "http://localhost:3000"),
        ("http://127.0.0.1:8080", "sk_test_x", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080", "sk_live_x", None),
        ("http://pay.example.com", "sk_test_x", None),
        ("https://user:pass@pay.example.com", "sk_live_x", None),
        ("https://pay.example.com/app", "sk_live_x", None),
        ("https://pay.example.com?next=evil", "sk_live_x", None),
        ("javascript:alert(1)", "sk_live_x", None),
        ("", "sk_live_x", None),
    ],
)
def test_return_urls_need_a_trusted_origin(raw: str, key: str, origin: str | None) -> None:
    assert rules.public_origin(raw, key) == origin


def test_request_ids_and_keys() -> None:
    assert rules.valid_request_id("550e8400-e29b-41d4-a716-446655440000")
    assert not rules.valid_request_id("with space")
    assert not rules.valid_request_id("x" * 65)
    assert not rules.valid_request_id("")
    assert rules.idempotency_key(7, "r") != rules.idempotency_key(8, "r")
    assert rules.pending_session_id(7, "r") == "pending:stripe:7:r"


def test_nested_params_use_stripes_brackets() -> None:
    params = {"a": 1, "items": [{"q": 2, "p": {"c": "usd"}}], "m": {"k": "v"}, "b": True}
    assert form_pairs(params) == [
        ("a", "1"),
        ("items[0][q]", "2"),
        ("items[0][p][c]", "usd"),
        ("m[k]", "v"),
        ("b", "true"),
    ]


def test_signatures() -> None:
    body, secret = b'{"id":"evt_1"}', "whsec_x"
    good = sign(body, secret, 1000)
    verify(body, f"t=1000,v1={good}", secret, now=1100)
    verify(body, f"t=1000,v1=bad,v1={good}", secret, now=700)
    assert parse_header(f"t=5,v0=old,v1={good}") == (5, [good])
    for header, now in [
        ("", 1000),
        (f"v1={good}", 1000),
        ("t=1000", 1000),
        (f"t=x,v1={good}", 1000),
        (f"t=1000,v1={good}", 1301),
        (f"t=1000,v1={sign(body, 'whsec_other', 1000)}", 1000),
        ("t=1000,v1=ünïcode", 1000),
    ]:
        with pytest.raises(SignatureError):
            verify(body, header, secret, now=now)
