"""Channel type id → its provider. Default base URLs come from `services.channel_types` (SPEC §7.1).

Types that speak the OpenAI wire format and differ only by address share `OpenAIProvider`; the few
with quirks or their own wire format (Azure, OpenRouter, Anthropic, Gemini 24) have their own
module. Gemini's OpenAI-compatible mode (51) is plain OpenAI at its own address. An unknown type
is treated as OpenAI.
"""

from __future__ import annotations

from oneapi.relay.providers.anthropic import AnthropicProvider
from oneapi.relay.providers.azure import AzureProvider
from oneapi.relay.providers.base import Provider
from oneapi.relay.providers.gemini import GeminiProvider
from oneapi.relay.providers.openai import OpenAIProvider
from oneapi.relay.providers.openai_compatible import OpenAICompatibleProvider
from oneapi.relay.providers.openrouter import OpenRouterProvider
from oneapi.services.channel_types import default_base_url, type_name

AZURE, OPENROUTER, GEMINI, OPENAI_COMPATIBLE = 3, 20, 24, 50
# Where the vendor itself serves the Responses API (SPEC §6.7): OpenAI and xAI at their own address.
RESPONSES_HOSTS: dict[int, tuple[str, ...]] = {
    1: ("", "https://api.openai.com", "https://api.openai.com/v1"),
    45: ("", "https://api.x.ai"),
}
ANTHROPIC_MESSAGES = frozenset({14, 52})  # Anthropic, Claude-compatible

# Types served as plain OpenAI at `{base}{path}` (Ollama, 30, through its `/v1` OpenAI-compatible
# API). Type 0 ("unknown") is left to the default below, which has OpenAI's address.
OPENAI_FAMILY = frozenset(
    {1, 2, 4, 5, 6, 7, 8, 9, 10, 12, 13, 19, 22, 25, 26, 28, 29, 30, 31, 32, 36, 39, 40, 41, 44, 45}
    | {47, 48, 49, 51, 53, 54, 55, 56, 57}
)

# What replaces the path's leading `/v1` for vendors mounting the OpenAI API elsewhere;
# "" where the default base URL already ends in the version.
V1_PREFIX: dict[int, str] = {
    40: "/api/v3",  # Doubao (Volcengine Ark)
    41: "",  # Novita: https://api.novita.ai/v3/openai
    47: "/v2",  # BaiduV2 (Qianfan)
    49: "/compatible-mode/v1",  # AliBailian
    51: "",  # Gemini OpenAI-compatible: …/v1beta/openai/
    55: "",  # NVIDIA: …/v1
    56: "",  # Cerebras: …/v1
    57: "/v1/openai",  # DeepInfra serves the OpenAI API under /v1/openai
}


def _build(type_id: int) -> Provider:
    name, base = type_name(type_id), default_base_url(type_id)
    if type_id == AZURE:
        return AzureProvider(name, base)
    if type_id == OPENROUTER:
        return OpenRouterProvider(name, base)
    if type_id in ANTHROPIC_MESSAGES:
        return AnthropicProvider(name, base)
    if type_id == OPENAI_COMPATIBLE:
        return OpenAICompatibleProvider(name, base)
    if type_id == GEMINI:
        return GeminiProvider(name, base)
    return OpenAIProvider(name, base, V1_PREFIX.get(type_id), RESPONSES_HOSTS.get(type_id, ()))


_PROVIDERS: dict[int, Provider] = {
    t: _build(t) for t in OPENAI_FAMILY | ANTHROPIC_MESSAGES | {AZURE, OPENROUTER, GEMINI, OPENAI_COMPATIBLE}
}
_DEFAULT: Provider = _PROVIDERS[1]


def provider_for(channel_type: int) -> Provider:
    """The provider for a channel type; the OpenAI provider for a type without its own."""
    return _PROVIDERS.get(channel_type, _DEFAULT)
