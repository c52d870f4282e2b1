"""The OpenAI wire format at `{base}{path}`: OpenAI itself and every type that only differs by URL.

One instance per channel type, carrying the type's name, default base URL and, for vendors that
mount the API elsewhere, the prefix that replaces the path's leading `/v1` (Doubao `/api/v3`,
BaiduV2 `/v2`, bases that already end in a version: "").

Responses: OpenAI itself (at its own address) and xAI speak `/v1/responses` besides Chat; a few
OpenAI models exist only there (RESPONSES_ONLY), so Chat and Claude callers of those models are
converted to Responses. Every other model keeps Chat, whose fast lane is the cheapest path.
A channel's `config.api_format` overrides the guess from the address: "response" (the fork's
value) speaks only Responses, "chat" only Chat, "both" both (a proxy in front of OpenAI).
"""

from __future__ import annotations

from typing import Any

from oneapi.config import Settings
from oneapi.relay.channel import Channel
from oneapi.relay.modes import Mode
from oneapi.relay.openai_params import ensure_stream_usage, normalize_chat, normalize_responses
from oneapi.relay.providers.base import ChannelConfigError, Provider
from oneapi.relay.providers.paths import is_cloudflare_gateway, replace_v1

RESPONSES_ONLY = (
    "o1-pro",
    "o3-pro",
    "o3-deep-research",
    "o4-mini-deep-research",
    "codex-mini",
    "gpt-5-codex",
    "gpt-5.1-codex",
    "gpt-5-pro",
    "computer-use-preview",
)
CHAT_AND_RESPONSES = ("openai_chat", "openai_responses")


def responses_only(model: str) -> bool:
    return model.rsplit("/", 1)[-1].lower().startswith(RESPONSES_ONLY)


def dual(model: str) -> tuple[str, ...]:
    """A channel speaking both: Chat first, or only Responses for a Responses-only model."""
    return ("openai_responses",) if responses_only(model) else CHAT_AND_RESPONSES


def configured_protocols(channel: Channel, model: str) -> tuple[str, ...] | None:
    """The protocols `config.api_format` names, or None when it names none."""
    fmt = str(channel.config.get("api_format") or "").strip().lower()
    if fmt in ("response", "responses"):
        return ("openai_responses",)
    if fmt == "chat":
        return ("openai_chat",)
    if fmt == "both":
        return dual(model)
    return None


class OpenAIProvider(Provider):
    def __init__(
        self,
        name: str = "openai",
        default_base_url: str = "https://api.openai.com",
        v1_prefix: str | None = None,
        responses_hosts: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.default_base_url = default_base_url
        self.v1_prefix = v1_prefix
        self.responses_hosts = responses_hosts  # base URLs at which the vendor serves Responses

    def protocols(self, channel: Channel, model: str) -> tuple[str, ...]:
        configured = configured_protocols(channel, model)
        if configured is not None:
            return configured
        base = (channel.base_url or self.default_base_url).rstrip("/")
        return dual(model) if base in self.responses_hosts else ("openai_chat",)

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
        if mode is Mode.RESPONSES:
            return normalize_responses(body, model)
        return False
