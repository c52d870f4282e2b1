"""Format detection, URL reasoning switches, Anthropic headers and error shapes of the converting relay."""

from __future__ import annotations

import pytest

from oneapi.relay.channel import Channel
from oneapi.relay.client_options import client_options
from oneapi.relay.codecs import ANTHROPIC_MESSAGES, CODECS, OPENAI_CHAT, OPENAI_RESPONSES
from oneapi.relay.conversation import detect_format
from oneapi.relay.errors import RelayError
from oneapi.relay.modes import Mode
from oneapi.relay.providers.registry import provider_for

USER = {"role": "user", "content": "hi"}


@pytest.mark.parametrize(
    ("body", "route", "expected"),
    [
        ({"model": "m", "messages": [USER], "system": "s", "max_tokens": 5}, OPENAI_CHAT, ANTHROPIC_MESSAGES),
        (
            {"model": "m", "messages": [USER], "tools": [{"name": "t", "input_schema": {}}]},
            OPENAI_CHAT,
            ANTHROPIC_MESSAGES,
        ),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x"}]}],
            },
            OPENAI_CHAT,
            ANTHROPIC_MESSAGES,
        ),
        ({"model": "m", "messages": [USER]}, OPENAI_CHAT, OPENAI_CHAT),
        ({"model": "m", "messages": [USER], "max_tokens": 5}, ANTHROPIC_MESSAGES, ANTHROPIC_MESSAGES),
        ({"model": "m", "messages": [USER]}, ANTHROPIC_MESSAGES, OPENAI_CHAT),
        (
            {"model": "m", "messages": [{"role": "system", "content": "s"}, USER], "max_tokens": 5},
            ANTHROPIC_MESSAGES,
            OPENAI_CHAT,
        ),
        (
            {"model": "m", "messages": [USER], "max_tokens": 5, "response_format": {}},
            ANTHROPIC_MESSAGES,
            OPENAI_CHAT,
        ),
        ({"model": "m", "input": "hi"}, OPENAI_CHAT, OPENAI_RESPONSES),
        ({"model": "m", "input": [USER]}, ANTHROPIC_MESSAGES, OPENAI_RESPONSES),
        ({"model": "m", "messages": [USER], "instructions": "s"}, OPENAI_CHAT, OPENAI_RESPONSES),
        ({"model": "m", "messages": [USER], "max_output_tokens": 5}, OPENAI_CHAT, OPENAI_RESPONSES),
        ({"model": "m", "input": "hi"}, OPENAI_RESPONSES, OPENAI_RESPONSES),
        ({"model": "m", "messages": [USER]}, OPENAI_RESPONSES, OPENAI_CHAT),
        (
            {"model": "m", "messages": [USER], "system": "s", "max_tokens": 5},
            OPENAI_RESPONSES,
            ANTHROPIC_MESSAGES,
        ),
        ({"model": "m"}, OPENAI_RESPONSES, OPENAI_RESPONSES),
    ],
)
def test_detect_format_follows_the_body_and_keeps_the_route_when_ambiguous(
    body: dict, route: str, expected: str
) -> None:
    assert detect_format(body, route) == expected


def test_url_switches_are_read() -> None:
    options = client_options(
        {"thinking": "Yes", "reasoning_format": "thinking", "reasoning_effort": "high"}, {}
    )
    assert (options.thinking, options.reasoning_format, options.reasoning_effort) == (
        True,
        "thinking",
        "high",
    )
    assert client_options({"thinking": "off"}, {}).thinking is False
    assert client_options({"thinking": "maybe", "reasoning_format": "bogus"}, {}).thinking is None
    assert client_options({"reasoning_format": "bogus"}, {}).reasoning_format == "reasoning"


def test_anthropic_provider_calls_messages_with_its_headers() -> None:
    provider = provider_for(14)
    assert provider.native_protocol == ANTHROPIC_MESSAGES
    assert provider_for(52).native_protocol == ANTHROPIC_MESSAGES
    call = provider.prepare(
        Channel(1, 14, "c", "k", 1, "", (), (), 0, 0), "/v1/chat/completions", "c", Mode.CHAT
    )
    assert call.url == "https://api.anthropic.com/v1/messages"
    assert call.headers["x-api-key"] == "k" and call.headers["anthropic-version"] == "2023-06-01"
    assert provider.inbound_headers({"anthropic-beta": "A-1, b-2,a-1"}) == {
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "a-1,b-2",
    }


def test_errors_take_the_callers_shape() -> None:
    err = RelayError(429, "slow down", "rate_limited")
    assert CODECS[ANTHROPIC_MESSAGES].error_body(err, "r1") == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down (request id: r1)"},
    }
    assert CODECS[OPENAI_CHAT].error_body(err, "r1")["error"]["code"] == "rate_limited"
