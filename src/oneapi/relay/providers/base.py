"""The shape of a provider: where a channel type's requests go, how they authenticate, its quirks.

A provider knows URLs, headers and request-body quirks; it knows nothing of billing or routing.
Adding a provider is one small module plus a line in `registry.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from oneapi.config import Settings
from oneapi.relay import ir
from oneapi.relay.channel import Channel
from oneapi.relay.modes import Mode

# Where each protocol's conversational requests go on a provider that follows the vendor's layout.
UPSTREAM_PATHS = {
    "openai_chat": "/v1/chat/completions",
    "openai_responses": "/v1/responses",
    "anthropic_messages": "/v1/messages",
}


class ChannelConfigError(ValueError):
    """The channel cannot be called as configured (e.g. a type that needs a base URL has none)."""


@dataclass(frozen=True)
class UpstreamCall:
    """Everything needed to send one request upstream."""

    url: str
    headers: dict[str, str]


class Provider:
    """Default behaviour: OpenAI wire format, `Authorization: Bearer <key>`, `{base}{path}`.

    Subclasses override only what differs. `path` is the inbound request path with its query,
    e.g. `/v1/chat/completions`; `model` is the upstream (already mapped) model name.
    """

    name = "openai"
    default_base_url = "https://api.openai.com"
    # The wire format the upstream speaks natively ("openai_chat", "anthropic_messages", "gemini", …).
    native_protocol = "openai_chat"

    def base_url(self, channel: Channel) -> str:
        return (channel.base_url or self.default_base_url).rstrip("/")

    def protocols(self, channel: Channel, model: str) -> tuple[str, ...]:
        """The wire formats this channel speaks for `model`, the preferred one first. A caller
        speaking one of them is served on the fast lane; any other caller is converted to the first."""
        return (self.native_protocol,)

    def path_for(self, channel: Channel, protocol: str, model: str, stream: bool, settings: Settings) -> str:
        """The request path (with query) of a conversational call in `protocol`."""
        return UPSTREAM_PATHS.get(protocol, UPSTREAM_PATHS["openai_chat"])

    async def prepare_request(self, req: ir.Request, http: aiohttp.ClientSession, settings: Settings) -> None:
        """Make a converted request sendable before it is written (e.g. fetch remote images for an
        upstream that takes only inline data). Raise RelayError for what cannot be fixed."""

    def url(self, channel: Channel, path: str, model: str, mode: Mode) -> str:
        return self.base_url(channel) + path

    def auth_headers(self, channel: Channel) -> dict[str, str]:
        return {"Authorization": f"Bearer {channel.key}"}

    def extra_headers(self, channel: Channel) -> dict[str, str]:
        """Per-channel `config.custom_headers` (fork feature), as strings."""
        custom = channel.config.get("custom_headers")
        if not isinstance(custom, dict):
            return {}
        return {str(k): str(v) for k, v in custom.items()}

    def prepare(self, channel: Channel, path: str, model: str, mode: Mode) -> UpstreamCall:
        headers = {**self.extra_headers(channel), **self.auth_headers(channel)}
        return UpstreamCall(url=self.url(channel, path, model, mode), headers=headers)

    def inbound_headers(self, inbound: Mapping[str, str]) -> dict[str, str]:
        """Headers derived from the caller's protocol headers (Anthropic version and betas)."""
        return {}

    def adjust_body(self, body: dict[str, Any], model: str, mode: Mode, settings: Settings) -> bool:
        """Apply the provider's request quirks to a parsed OpenAI body in place; True if it changed."""
        return False
