"""Which wire formats a channel speaks for a model (`Provider.protocols`), the preferred first.

A caller speaking one of them takes the fast lane; any other caller is converted to the first.
The rules (providers/openai.py, azure.py): OpenAI at its own address and xAI speak Chat and
Responses, Chat first, and only Responses for the Responses-only models; an OpenAI type at any
other address speaks Chat; Azure serves the gpt-5 family and the Responses-only models on its
Responses surface; `config.api_format` overrides all of that.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from oneapi.config import Settings
from oneapi.relay.channel import Channel
from oneapi.relay.providers.openai import RESPONSES_ONLY, responses_only
from oneapi.relay.providers.registry import provider_for

CHAT, RESPONSES, CLAUDE = "openai_chat", "openai_responses", "anthropic_messages"
BOTH = (CHAT, RESPONSES)
OPENAI, AZURE, XAI, COMPATIBLE, DEEPSEEK, ANTHROPIC = 1, 3, 45, 50, 36, 14


def channel(type_id: int, base_url: str = "", config: dict[str, Any] | None = None) -> Channel:
    row: dict[str, Any] = {
        "id": 1,
        "type": type_id,
        "name": "c",
        "key": "k",
        "status": 1,
        "base_url": base_url,
    }
    if config is not None:
        row["config"] = orjson.dumps(config).decode()
    return Channel.from_row(row)


def spoken(
    type_id: int, model: str, base_url: str = "", config: dict[str, Any] | None = None
) -> tuple[str, ...]:
    return provider_for(type_id).protocols(channel(type_id, base_url, config), model)


@pytest.mark.parametrize(
    "base", ["", "https://api.openai.com", "https://api.openai.com/", "https://api.openai.com/v1"]
)
def test_openai_at_its_own_address_speaks_both_chat_first(base: str) -> None:
    assert spoken(OPENAI, "gpt-4o", base) == BOTH
    assert spoken(OPENAI, "o4-mini", base) == BOTH
    assert spoken(OPENAI, "o3-pro", base) == (RESPONSES,)


@pytest.mark.parametrize("base", ["https://proxy.example.com", "http://127.0.0.1:8080/v1"])
def test_openai_type_at_another_address_speaks_chat(base: str) -> None:
    assert spoken(OPENAI, "gpt-4o", base) == (CHAT,)
    assert spoken(OPENAI, "o3-pro", base) == (CHAT,)  # a proxy may not serve Responses: api_format says


def test_xai_speaks_both_at_its_address_only() -> None:
    assert spoken(XAI, "grok-4") == BOTH
    assert spoken(XAI, "grok-4", "https://api.x.ai") == BOTH
    assert spoken(XAI, "grok-4", "https://grok-proxy.example.com") == (CHAT,)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-5", BOTH),
        ("gpt-5-mini", BOTH),
        ("gpt-5-chat-latest", BOTH),
        ("GPT-5.1", BOTH),
        ("gpt-5-codex", (RESPONSES,)),
        ("o3-pro", (RESPONSES,)),
        ("gpt-4o", (CHAT,)),
        ("gpt-4.1", (CHAT,)),
        ("o4-mini", (CHAT,)),
    ],
)
def test_azure_serves_gpt_5_and_responses_only_models_on_responses(
    model: str, expected: tuple[str, ...]
) -> None:
    assert spoken(AZURE, model, "https://res.openai.azure.com") == expected


@pytest.mark.parametrize(
    ("api_format", "model", "expected"),
    [
        ("response", "gpt-4o", (RESPONSES,)),
        ("response", "o3-pro", (RESPONSES,)),
        ("responses", "gpt-4o", (RESPONSES,)),
        (" Response ", "gpt-4o", (RESPONSES,)),
        ("chat", "gpt-4o", (CHAT,)),
        ("chat", "o3-pro", (CHAT,)),
        ("both", "gpt-4o", BOTH),
        ("both", "o3-pro", (RESPONSES,)),
        ("", "gpt-4o", (CHAT,)),
        ("", "o3-pro", (CHAT,)),
        (None, "gpt-4o", (CHAT,)),
        ("unknown", "gpt-4o", (CHAT,)),
    ],
)
def test_openai_compatible_follows_api_format(
    api_format: str | None, model: str, expected: tuple[str, ...]
) -> None:
    config = None if api_format is None else {"api_format": api_format}
    assert spoken(COMPATIBLE, model, "https://llm.example.com/v1", config) == expected


@pytest.mark.parametrize("type_id", [OPENAI, AZURE, XAI, DEEPSEEK])
def test_api_format_overrides_the_address_for_every_openai_family_type(type_id: int) -> None:
    base = "https://res.openai.azure.com" if type_id == AZURE else ""
    assert spoken(type_id, "gpt-4o", base, {"api_format": "response"}) == (RESPONSES,)
    assert spoken(type_id, "gpt-5", base, {"api_format": "chat"}) == (CHAT,)
    assert spoken(type_id, "gpt-4o", "https://proxy.example.com", {"api_format": "both"}) == BOTH


def test_anthropic_channels_speak_messages_whatever_the_config() -> None:
    assert spoken(ANTHROPIC, "claude-sonnet-4") == (CLAUDE,)
    assert spoken(ANTHROPIC, "claude-sonnet-4", config={"api_format": "response"}) == (CLAUDE,)


@pytest.mark.parametrize(
    "model", [*RESPONSES_ONLY, "gpt-5-codex-mini", "o3-pro-2025-06-10", "openai/o3-pro", "O1-PRO"]
)
def test_responses_only_models(model: str) -> None:
    assert responses_only(model)


@pytest.mark.parametrize("model", ["gpt-4o", "o3", "o3-mini", "gpt-5", "gpt-5-mini", "codex", "my-o3-pro"])
def test_models_chat_also_serves(model: str) -> None:
    assert not responses_only(model)


@pytest.mark.parametrize(("protocol", "path"), [(CHAT, "/v1/chat/completions"), (RESPONSES, "/v1/responses")])
def test_each_protocol_has_its_path(protocol: str, path: str) -> None:
    provider = provider_for(COMPATIBLE)
    assert provider.path_for(channel(COMPATIBLE, "https://x"), protocol, "gpt-4o", False, Settings()) == path
