"""The deferred prompt estimate: its bound never undercounts, and the waiver test agrees with
`billing.reserve`, so skipping the count never changes a reservation (SPEC §5.4, §5.5)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from oneapi.relay.auth import Identity
from oneapi.relay.billing import reserve
from oneapi.relay.errors import RelayError
from oneapi.relay.estimate import PromptEstimate, prompt_tokens, reservation_waived
from oneapi.relay.metering import approximate, count_chat_prompt, count_input, count_text
from oneapi.relay.modes import Mode
from oneapi.services.accounts import TokenInfo, UserInfo
from oneapi.services.ledger import QuotaLedger

MODEL = "gpt-4o-mini"


def identity(unlimited: bool) -> Identity:
    token = TokenInfo(
        id=7,
        user_id=3,
        name="k",
        status=1,
        expired_time=-1,
        unlimited=unlimited,
        models=None,
        subnet="",
        networks=(),
    )
    user = UserInfo(id=3, username="alice", group="default", status=1, role=1)
    return Identity(token=token, user=user, key="key", pinned_channel=None)


@pytest.mark.parametrize(
    ("user_quota", "token_remain", "unlimited", "pre"),
    list(itertools.product([0, 99, 100, 101, 5000], [0, 100, 101, 5000], [True, False], [0, 1, 2, 40])),
)
def test_waiver_agrees_with_reserve(user_quota: int, token_remain: int, unlimited: bool, pre: int) -> None:
    ledger = QuotaLedger()
    ledger.user_balance[3], ledger.token_balance[7] = user_quota, token_remain
    who = identity(unlimited)
    if reservation_waived(ledger, who, pre):
        assert reserve(ledger, who, pre).pre == 0
        return
    try:
        held = reserve(ledger, who, pre).pre
    except RelayError:
        return
    assert held == pre


def test_a_negative_reservation_is_never_judged_by_the_bound() -> None:
    ledger = QuotaLedger()
    ledger.user_balance[3] = ledger.token_balance[7] = 10**9
    assert not reservation_waived(ledger, identity(True), -5)


def test_chat_estimate_bounds_then_counts_once() -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hello world"}]}
    estimate = prompt_tokens(Mode.CHAT, body, MODEL, approximate_only=False)
    assert isinstance(estimate, PromptEstimate)
    exact = count_chat_prompt(body["messages"], MODEL)
    assert estimate.bound() >= exact
    assert estimate.count() == exact
    assert estimate.bound() == exact  # once counted, the bound is the count


@pytest.mark.parametrize(
    ("mode", "body", "expected"),
    [
        (Mode.COMPLETIONS, {"prompt": "hello world"}, count_text("hello world", MODEL)),
        (Mode.COMPLETIONS, {"prompt": ["hello", 5, " world"]}, count_text("hello world", MODEL)),
        (Mode.EMBEDDINGS, {"input": ["hello", "world"]}, count_input(["hello", "world"], MODEL)),
        (Mode.MODERATIONS, {"input": "hello"}, count_input("hello", MODEL)),
        (Mode.CHAT, {"messages": "junk"}, 0),
        (Mode.IMAGES_GENERATIONS, {"prompt": "a cat"}, 0),
    ],
)
def test_each_mode_counts_what_one_api_counts(mode: Mode, body: dict[str, object], expected: int) -> None:
    estimate = prompt_tokens(mode, body, MODEL, approximate_only=False)
    assert estimate.bound() >= expected
    assert estimate.count() == expected


def test_approximate_mode_needs_no_vocabulary_and_bound_equals_count() -> None:
    messages = [{"role": "user", "content": "hello world"}]
    estimate = prompt_tokens(Mode.CHAT, {"messages": messages}, MODEL, approximate_only=True)
    assert estimate.bound() == estimate.count() == approximate(str(messages))


def test_count_async_equals_count() -> None:
    body = {"messages": [{"role": "user", "content": "你好世界"}]}
    estimate = prompt_tokens(Mode.CHAT, body, "gpt-4", approximate_only=False)
    assert asyncio.run(estimate.count_async()) == count_chat_prompt(body["messages"], "gpt-4")
