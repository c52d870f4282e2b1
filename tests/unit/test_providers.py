"""Providers: upstream URLs and headers per channel type, and their request-body quirks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest

from oneapi.config import Settings
from oneapi.relay.channel import Channel
from oneapi.relay.modes import Mode
from oneapi.relay.providers.azure import AzureProvider
from oneapi.relay.providers.base import ChannelConfigError
from oneapi.relay.providers.openai import OpenAIProvider
from oneapi.relay.providers.openrouter import OpenRouterProvider
from oneapi.relay.providers.registry import provider_for

CHAT, EMBED, QUERY = "/v1/chat/completions", "/v1/embeddings", "/v1/chat/completions?trace=1&x=y"

# type id → the base URL used when the channel gives none, and the path prefix replacing `/v1`.
DEFAULTS: dict[int, tuple[str, str]] = {
    0: ("https://api.openai.com", "/v1"),
    1: ("https://api.openai.com", "/v1"),
    2: ("https://oa.api2d.net", "/v1"),
    4: ("https://api.closeai-proxy.xyz", "/v1"),
    5: ("https://api.openai-sb.com", "/v1"),
    6: ("https://api.openaimax.com", "/v1"),
    7: ("https://api.ohmygpt.com", "/v1"),
    9: ("https://api.caipacity.com", "/v1"),
    10: ("https://api.aiproxy.io", "/v1"),
    12: ("https://api.api2gpt.com", "/v1"),
    13: ("https://api.aigc2d.com", "/v1"),
    19: ("https://ai.360.cn", "/v1"),
    20: ("https://openrouter.ai/api", "/v1"),
    22: ("https://fastgpt.run/api/openapi", "/v1"),
    25: ("https://api.moonshot.cn", "/v1"),
    26: ("https://api.baichuan-ai.com", "/v1"),
    28: ("https://api.mistral.ai", "/v1"),
    29: ("https://api.groq.com/openai", "/v1"),
    30: ("http://localhost:11434", "/v1"),
    31: ("https://api.lingyiwanwu.com", "/v1"),
    32: ("https://api.stepfun.com", "/v1"),
    36: ("https://api.deepseek.com", "/v1"),
    39: ("https://api.together.xyz", "/v1"),
    40: ("https://ark.cn-beijing.volces.com", "/api/v3"),
    41: ("https://api.novita.ai/v3/openai", ""),
    44: ("https://api.siliconflow.cn", "/v1"),
    45: ("https://api.x.ai", "/v1"),
    47: ("https://qianfan.baidubce.com", "/v2"),
    48: ("https://spark-api-open.xf-yun.com", "/v1"),
    49: ("https://dashscope.aliyuncs.com", "/compatible-mode/v1"),
    51: ("https://generativelanguage.googleapis.com/v1beta/openai", ""),
    53: ("https://api.githubcopilot.com", "/v1"),
    54: ("https://api.fireworks.ai/inference", "/v1"),
    55: ("https://integrate.api.nvidia.com/v1", ""),
    56: ("https://api.cerebras.ai/v1", ""),
    57: ("https://api.deepinfra.com", "/v1/openai"),
}
USER_SUPPLIED = (8, 50)  # no default base URL: the operator must give one


def channel(type_id: int, base_url: str = "", key: str = "sk-upstream", **extra: Any) -> Channel:
    row: dict[str, Any] = {
        "id": 7,
        "type": type_id,
        "name": "c",
        "key": key,
        "status": 1,
        "base_url": base_url,
    }
    for name in ("config", "model_mapping"):
        if name in extra:
            row[name] = orjson.dumps(extra.pop(name)).decode()
    row.update(extra)
    return Channel.from_row(row)


def settings(**overrides: Any) -> Settings:
    return replace(Settings(), **overrides)


@pytest.mark.parametrize("type_id", sorted(DEFAULTS))
def test_default_base_url_and_path_for_every_openai_family_type(type_id: int) -> None:
    base, prefix = DEFAULTS[type_id]
    provider = provider_for(type_id)
    ch = channel(type_id)
    for path, mode in ((CHAT, Mode.CHAT), (EMBED, Mode.EMBEDDINGS), (QUERY, Mode.CHAT)):
        call = provider.prepare(ch, path, "gpt-4o", mode)
        assert call.url == base + prefix + path.removeprefix("/v1")
        assert call.headers["Authorization"] == "Bearer sk-upstream"
        assert set(call.headers) == (
            {"Authorization", "HTTP-Referer", "X-Title"} if type_id == 20 else {"Authorization"}
        )


@pytest.mark.parametrize("type_id", [*sorted(DEFAULTS), *USER_SUPPLIED])
def test_channel_base_url_overrides_the_default_and_trailing_slash_is_dropped(type_id: int) -> None:
    prefix = DEFAULTS.get(type_id, ("", "/v1"))[1]
    call = provider_for(type_id).prepare(channel(type_id, "https://proxy.example/"), QUERY, "m", Mode.CHAT)
    assert call.url == "https://proxy.example" + prefix + "/chat/completions?trace=1&x=y"


def test_user_supplied_types_without_base_url_fail_clearly() -> None:
    for type_id in (3, 8, 50):
        with pytest.raises(ChannelConfigError, match="no base URL"):
            provider_for(type_id).prepare(channel(type_id), CHAT, "m", Mode.CHAT)


def test_registry_kinds_and_unknown_types_fall_back_to_openai() -> None:
    assert isinstance(provider_for(3), AzureProvider)
    assert isinstance(provider_for(20), OpenRouterProvider)
    assert provider_for(36).name == "deepseek"
    unknown = provider_for(9999)
    assert isinstance(unknown, OpenAIProvider)
    assert (
        unknown.prepare(channel(9999), CHAT, "m", Mode.CHAT).url
        == "https://api.openai.com/v1/chat/completions"
    )


def test_paths_outside_v1_are_kept_as_given() -> None:
    call = provider_for(40).prepare(channel(40), "/v2/rerank", "m", Mode.RERANK)
    assert call.url == "https://ark.cn-beijing.volces.com/v2/rerank"


def test_keyless_channel_sends_no_authorization_header() -> None:
    call = provider_for(30).prepare(channel(30, key=""), CHAT, "llama3", Mode.CHAT)
    assert call.url == "http://localhost:11434/v1/chat/completions"
    assert call.headers == {}


def test_custom_headers_from_config_are_added_but_never_replace_the_key() -> None:
    ch = channel(1, config={"custom_headers": {"X-Org": "acme", "X-Num": 5, "Authorization": "Bearer other"}})
    assert provider_for(1).prepare(ch, CHAT, "m", Mode.CHAT).headers == {
        "X-Org": "acme",
        "X-Num": "5",
        "Authorization": "Bearer sk-upstream",
    }
    azure = channel(3, "https://r.openai.azure.com", config={"custom_headers": {"X-Org": "acme"}})
    assert provider_for(3).prepare(azure, CHAT, "m", Mode.CHAT).headers == {
        "X-Org": "acme",
        "api-key": "sk-upstream",
    }


def test_cloudflare_gateway_base_strips_v1() -> None:
    base = "https://gateway.ai.cloudflare.com/v1/acct/gw/openai"
    call = provider_for(1).prepare(channel(1, base), CHAT, "gpt-4o", Mode.CHAT)
    assert call.url == base + "/chat/completions"


# --- Azure ---------------------------------------------------------------------------------

AZ = "https://res.openai.azure.com"


@pytest.mark.parametrize(
    ("path", "mode", "url"),
    [
        (CHAT, Mode.CHAT, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"),
        (EMBED, Mode.EMBEDDINGS, "/openai/deployments/gpt-4o/embeddings?api-version=2024-10-21"),
        ("/v1/images/generations", Mode.IMAGES_GENERATIONS,
         "/openai/deployments/gpt-4o/images/generations?api-version=2024-10-21"),
        ("/v1/audio/transcriptions", Mode.AUDIO_TRANSCRIPTION,
         "/openai/deployments/gpt-4o/audio/transcriptions?api-version=2024-10-21"),
        (QUERY, Mode.CHAT, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21&trace=1&x=y"),
        ("/v1/chat/completions?api-version=1999-01-01&a=b", Mode.CHAT,
         "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21&a=b"),
    ],
)  # fmt: skip
def test_azure_deployment_urls_and_api_key_header(path: str, mode: Mode, url: str) -> None:
    call = provider_for(3).prepare(channel(3, AZ + "/"), path, "gpt-4o", mode)
    assert call.url == AZ + url
    assert call.headers == {"api-key": "sk-upstream"}


@pytest.mark.parametrize(
    ("configured", "model", "version"),
    [
        ("", "gpt-4o", "2024-10-21"),
        ("2024-06-01", "gpt-4o", "2024-06-01"),
        ("", "o3-mini", "2025-04-01-preview"),
        ("2024-06-01", "o1", "2025-04-01-preview"),
        ("2024-12-01-preview", "o4-mini", "2025-04-01-preview"),
        ("2025-05-01-preview", "o3", "2025-05-01-preview"),
        ("", "gpt-5", "2025-04-01-preview"),
        ("2024-06-01", "gpt-5-chat", "2024-06-01"),
    ],
)
def test_azure_api_version_rules(configured: str, model: str, version: str) -> None:
    ch = channel(3, AZ, config={"api_version": configured} if configured else {})
    url = provider_for(3).prepare(ch, CHAT, model, Mode.CHAT).url
    assert url == f"{AZ}/openai/deployments/{model}/chat/completions?api-version={version}"


def test_azure_api_version_from_legacy_other_column() -> None:
    ch = channel(3, AZ, other="2023-05-15")
    assert provider_for(3).prepare(ch, CHAT, "gpt-4", Mode.CHAT).url.endswith("?api-version=2023-05-15")


def test_azure_responses_use_the_v1_surface() -> None:
    url = provider_for(3).prepare(channel(3, AZ), "/v1/responses", "gpt-5", Mode.RESPONSES).url
    assert url == f"{AZ}/openai/v1/responses"
    ch = channel(3, AZ, config={"api_version": "preview"})
    url = provider_for(3).prepare(ch, "/v1/responses?x=1", "gpt-5", Mode.RESPONSES).url
    assert url == f"{AZ}/openai/v1/responses?api-version=preview&x=1"


def test_azure_through_cloudflare_gateway() -> None:
    base = "https://gateway.ai.cloudflare.com/v1/acct/gw/azure-openai/res"
    url = provider_for(3).prepare(channel(3, base), CHAT, "gpt-4o", Mode.CHAT).url
    assert url == base + "/gpt-4o/chat/completions?api-version=2024-10-21"


# --- OpenAI-compatible (50) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "path", "url"),
    [
        ("https://h.example/v1", CHAT, "https://h.example/v1/chat/completions"),
        ("https://h.example/api/paas/v4/", CHAT, "https://h.example/api/paas/v4/chat/completions"),
        ("https://h.example/v1beta", EMBED, "https://h.example/v1beta/embeddings"),
        ("https://h.example/v1", QUERY, "https://h.example/v1/chat/completions?trace=1&x=y"),
        ("https://h.example", CHAT, "https://h.example/v1/chat/completions"),
        ("https://h.example/openai", QUERY, "https://h.example/openai/v1/chat/completions?trace=1&x=y"),
        ("https://h.example/dev1", CHAT, "https://h.example/dev1/v1/chat/completions"),
    ],
)
def test_openai_compatible_strips_v1_only_after_a_version_segment(base: str, path: str, url: str) -> None:
    call = provider_for(50).prepare(channel(50, base), path, "m", Mode.CHAT)
    assert call.url == url
    assert call.headers == {"Authorization": "Bearer sk-upstream"}


# --- OpenRouter ----------------------------------------------------------------------------


def test_openrouter_headers_and_custom_headers_override_them() -> None:
    call = provider_for(20).prepare(channel(20), CHAT, "openai/gpt-4o", Mode.CHAT)
    assert call.url == "https://openrouter.ai/api/v1/chat/completions"
    assert call.headers == {
        "HTTP-Referer": "https://github.com/songquanpeng/one-api",
        "X-Title": "One API",
        "Authorization": "Bearer sk-upstream",
    }
    ch = channel(20, config={"custom_headers": {"X-Title": "My Gateway"}})
    assert provider_for(20).prepare(ch, CHAT, "m", Mode.CHAT).headers["X-Title"] == "My Gateway"


def test_openrouter_reasoning_request_gets_include_reasoning_and_provider_sort() -> None:
    body: dict[str, Any] = {"messages": [], "reasoning_effort": "high", "provider": {"order": ["a"]}}
    assert provider_for(20).adjust_body(
        body, "deepseek/deepseek-r1", Mode.CHAT, settings(openrouter_provider_sort="price")
    )
    assert body == {
        "messages": [],
        "reasoning_effort": "high",
        "provider": {"order": ["a"], "sort": "price"},
        "include_reasoning": True,
    }


def test_openrouter_reasoning_model_and_plain_model() -> None:
    body: dict[str, Any] = {"messages": [{"role": "system", "content": "s"}], "max_tokens": 9}
    assert provider_for(20).adjust_body(body, "openai/o3-mini", Mode.CHAT, settings())
    assert body == {
        "messages": [{"role": "developer", "content": "s"}],
        "max_completion_tokens": 9,
        "include_reasoning": True,
    }
    plain: dict[str, Any] = {"messages": []}
    assert not provider_for(20).adjust_body(plain, "anthropic/claude-sonnet-4", Mode.CHAT, settings())
    assert plain == {"messages": []}


def test_openrouter_keeps_the_callers_own_choices() -> None:
    body: dict[str, Any] = {"messages": [], "include_reasoning": False, "provider": {"sort": "latency"}}
    changed = provider_for(20).adjust_body(
        body, "openai/o3", Mode.CHAT, settings(openrouter_provider_sort="price")
    )
    assert not changed
    assert body == {"messages": [], "include_reasoning": False, "provider": {"sort": "latency"}}
    odd: dict[str, Any] = {"provider": "x"}
    assert provider_for(20).adjust_body(odd, "m", Mode.CHAT, settings(openrouter_provider_sort="throughput"))
    assert odd == {"provider": {"sort": "throughput"}}


# --- adjust_body for every OpenAI-family provider ------------------------------------------


@pytest.mark.parametrize("type_id", [*sorted(DEFAULTS), 3, 8, 50])
def test_every_provider_normalises_chat_bodies(type_id: int) -> None:
    body: dict[str, Any] = {
        "model": "o3",
        "messages": [],
        "max_tokens": 5,
        "top_p": 1,
        "stream": True,
        "extra": 1,
    }
    assert provider_for(type_id).adjust_body(body, "o3", Mode.CHAT, settings())
    assert body["max_completion_tokens"] == 5
    assert "max_tokens" not in body and "top_p" not in body
    assert body["stream_options"] == {"include_usage": True}
    assert body["extra"] == 1


def test_adjust_body_modes_other_than_chat() -> None:
    provider = provider_for(1)
    completions: dict[str, Any] = {"prompt": "x", "stream": True, "max_tokens": 3}
    assert provider.adjust_body(completions, "o3", Mode.COMPLETIONS, settings())
    assert completions == {
        "prompt": "x",
        "stream": True,
        "max_tokens": 3,
        "stream_options": {"include_usage": True},
    }
    assert not provider.adjust_body(
        {"prompt": "x", "stream": True}, "m", Mode.COMPLETIONS, settings(enforce_include_usage=False)
    )
    embeddings: dict[str, Any] = {"input": "x", "top_p": 1}
    assert not provider.adjust_body(embeddings, "o3", Mode.EMBEDDINGS, settings())
    assert embeddings == {"input": "x", "top_p": 1}


def test_deepseek_request_is_plain_openai() -> None:
    body: dict[str, Any] = {
        "messages": [{"role": "system", "content": "s"}],
        "temperature": 0.3,
        "max_tokens": 9,
    }
    assert not provider_for(36).adjust_body(body, "deepseek-reasoner", Mode.CHAT, settings())
    assert body == {"messages": [{"role": "system", "content": "s"}], "temperature": 0.3, "max_tokens": 9}
