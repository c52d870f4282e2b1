"""OpenAI-compatible (type 50): the operator's base URL often already carries the API version.

A base ending in a version segment (`…/v1`, `…/api/paas/v4`, `…/v1beta`) gets the path without
its leading `/v1`, so `https://host/v4` + `/v1/chat/completions` becomes
`https://host/v4/chat/completions`; any other base gets the path unchanged (the fork's rule).
A channel whose `config.api_format` is "response" speaks only the Responses API (see openai.py).
"""

from __future__ import annotations

from oneapi.relay.channel import Channel
from oneapi.relay.modes import Mode
from oneapi.relay.providers.openai import OpenAIProvider
from oneapi.relay.providers.paths import has_version_suffix, replace_v1


class OpenAICompatibleProvider(OpenAIProvider):
    def url(self, channel: Channel, path: str, model: str, mode: Mode) -> str:
        base = self.base_url(channel)
        return base + (replace_v1(path, "") if has_version_suffix(base) else path)
