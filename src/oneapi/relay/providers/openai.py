"""The OpenAI wire format at `{base}{path}`: OpenAI itself and every type that only differs by URL.

One instance per channel type, carrying the type's name, default base URL and, for vendors that
mount the API elsewhere, the prefix that replaces the path's leading `/v1` (Doubao `/api/v3`,
BaiduV2 `/v2`, bases that already end in a version: "").
"""

from __future__ import annotations

from typing import Any

from oneapi.config import Settings
from oneapi.relay.channel import Channel
from oneapi.relay.modes import Mode
from oneapi.relay.openai_params import ensure_stream_usage, normalize_chat
from oneapi.relay.providers.base import ChannelConfigError, Provider
from oneapi.relay.providers.paths import is_cloudflare_gateway, replace_v1


class OpenAIProvider(Provider):
    def __init__(
        self,
        name: str = "openai",
        default_base_url: str = "https://api.openai.com",
        v1_prefix: str | None = None,
    ) -> None:
        self.name = name
        self.default_base_url = default_base_url
        self.v1_prefix = v1_prefix

    def base_url(self, channel: Channel) -> str:
        base = (channel.base_url or self.default_base_url).rstrip("/")
        if not base:
            raise ChannelConfigError(f"channel #{channel.id} ({self.name}) has no base URL configured")
        return base

    def url(self, channel: Channel, path: str, model: str, mode: Mode) -> str:
        base = self.base_url(channel)
        if self.v1_prefix is not None:
            path = replace_v1(path, self.v1_prefix)
        elif is_cloudflare_gateway(base):
            path = replace_v1(path, "")
        return base + path

    def auth_headers(self, channel: Channel) -> dict[str, str]:
        # Keyless upstreams (a local Ollama or vLLM) get no empty `Bearer ` header.
        return {"Authorization": f"Bearer {channel.key}"} if channel.key else {}

    def adjust_body(self, body: dict[str, Any], model: str, mode: Mode, settings: Settings) -> bool:
        if mode is Mode.CHAT:
            return normalize_chat(body, model, settings.enforce_include_usage)
        if mode is Mode.COMPLETIONS and settings.enforce_include_usage:
            return ensure_stream_usage(body)
        return False
