"""Azure OpenAI (type 3): deployment URLs with an `api-version`, and the `api-key` header.

`{base}/openai/deployments/{model}/{task}?api-version={v}`, task being the path after `/v1/`.
The version is the channel's `config.api_version` (legacy column `other`), default 2024-10-21;
reasoning models need at least 2025-04-01-preview, so an older dated version is raised to it.
Responses requests go to Azure's v1 surface `{base}/openai/v1/responses` (model in the body),
which takes no dated api-version. A Cloudflare AI Gateway base already names the resource, so
`/openai/deployments` is left out there.
"""

from __future__ import annotations

import re

from oneapi.relay.channel import Channel
from oneapi.relay.modes import Mode
from oneapi.relay.openai_params import is_reasoning_model
from oneapi.relay.providers.openai import OpenAIProvider, configured_protocols, dual, responses_only
from oneapi.relay.providers.paths import is_cloudflare_gateway, split_query

DEFAULT_API_VERSION = "2024-10-21"
REASONING_API_VERSION = "2025-04-01-preview"
_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}")


def api_version(channel: Channel, model: str) -> str:
    configured = str(channel.config.get("api_version") or "").strip()
    if is_reasoning_model(model) and (not configured or _older_than(configured, REASONING_API_VERSION)):
        return REASONING_API_VERSION
    return configured or DEFAULT_API_VERSION


def _older_than(version: str, floor: str) -> bool:
    return _DATED.match(version) is not None and version[:10] < floor[:10]


def _with_query(url: str, *parts: str) -> str:
    query = "&".join(p for p in parts if p)
    return f"{url}?{query}" if query else url


def _inbound_query(query: str) -> str:
    """The caller's own query parameters, minus any `api-version` (the channel decides that)."""
    kept = [p for p in query.split("&") if p and not p.startswith("api-version=")]
    return "&".join(kept)


class AzureProvider(OpenAIProvider):
    def protocols(self, channel: Channel, model: str) -> tuple[str, ...]:
        """Azure serves the gpt-5 family (and the Responses-only models) on its v1 Responses surface."""
        configured = configured_protocols(channel, model)
        if configured is not None:
            return configured
        name = model.rsplit("/", 1)[-1].lower()
        return dual(model) if name.startswith("gpt-5") or responses_only(model) else ("openai_chat",)

    def url(self, channel: Channel, path: str, model: str, mode: Mode) -> str:
        base = self.base_url(channel)
        bare, query = split_query(path)
        extra = _inbound_query(query)
        if mode is Mode.RESPONSES or bare.startswith("/v1/responses"):
            configured = str(channel.config.get("api_version") or "").strip()
            version = "" if not configured or _DATED.match(configured) else f"api-version={configured}"
            resource = bare if bare.startswith("/v1/responses") else "/v1/responses"
            return _with_query(f"{base}/openai{resource}", version, extra)
        task = bare.removeprefix("/v1/").lstrip("/")
        prefix = base if is_cloudflare_gateway(base) else f"{base}/openai/deployments"
        return _with_query(f"{prefix}/{model}/{task}", f"api-version={api_version(channel, model)}", extra)

    def auth_headers(self, channel: Channel) -> dict[str, str]:
        return {"api-key": channel.key}
