"""Anthropic Messages at `{base}/v1/messages`: Anthropic (type 14) and Claude-compatible (type 52).

Authenticates with `x-api-key`; `anthropic-version` is the caller's or 2023-06-01, and the
caller's `anthropic-beta` flags are passed on, lower-cased and deduplicated (SPEC §6.4).
"""

from __future__ import annotations

from collections.abc import Mapping

from oneapi.relay.channel import Channel
from oneapi.relay.modes import Mode
from oneapi.relay.providers.base import ChannelConfigError, Provider

DEFAULT_VERSION = "2023-06-01"


class AnthropicProvider(Provider):
    native_protocol = "anthropic_messages"

    def __init__(self, name: str = "anthropic", default_base_url: str = "https://api.anthropic.com") -> None:
        self.name = name
        self.default_base_url = default_base_url

    def base_url(self, channel: Channel) -> str:
        base = (channel.base_url or self.default_base_url).rstrip("/")
        if not base:
            raise ChannelConfigError(f"channel #{channel.id} ({self.name}) has no base URL configured")
        return base.removesuffix("/v1")

    def url(self, channel: Channel, path: str, model: str, mode: Mode) -> str:
        return self.base_url(channel) + "/v1/messages"

    def auth_headers(self, channel: Channel) -> dict[str, str]:
        return {"x-api-key": channel.key, "anthropic-version": DEFAULT_VERSION}

    def inbound_headers(self, inbound: Mapping[str, str]) -> dict[str, str]:
        headers = {"anthropic-version": inbound.get("anthropic-version") or DEFAULT_VERSION}
        betas: list[str] = []
        for flag in (inbound.get("anthropic-beta") or "").split(","):
            flag = flag.strip().lower()
            if flag and flag not in betas:
                betas.append(flag)
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        return headers
