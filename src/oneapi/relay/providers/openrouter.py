"""OpenRouter (type 20): app attribution headers, reasoning text switched on, provider ordering.

`include_reasoning` is set only for requests that reason (a reasoning model, or `reasoning_effort`
/ `reasoning` in the body): on models where thinking is optional it would turn thinking on and
bill for it. `OPENROUTER_PROVIDER_SORT` fills `provider.sort` unless the caller chose one.
"""

from __future__ import annotations

from typing import Any

from oneapi.config import Settings
from oneapi.relay.channel import Channel
from oneapi.relay.modes import Mode
from oneapi.relay.openai_params import is_reasoning_model
from oneapi.relay.providers.openai import OpenAIProvider

REFERER = "https://github.com/songquanpeng/one-api"
TITLE = "One API"


class OpenRouterProvider(OpenAIProvider):
    def extra_headers(self, channel: Channel) -> dict[str, str]:
        return {"HTTP-Referer": REFERER, "X-Title": TITLE, **super().extra_headers(channel)}

    def adjust_body(self, body: dict[str, Any], model: str, mode: Mode, settings: Settings) -> bool:
        changed = super().adjust_body(body, model, mode, settings)
        if mode not in (Mode.CHAT, Mode.COMPLETIONS):
            return changed
        reasons = is_reasoning_model(model) or "reasoning_effort" in body or "reasoning" in body
        if reasons and "include_reasoning" not in body:
            body["include_reasoning"] = True
            changed = True
        sort = settings.openrouter_provider_sort
        if sort:
            provider = body.get("provider")
            if not isinstance(provider, dict):
                body["provider"] = {"sort": sort}
                changed = True
            elif "sort" not in provider:
                provider["sort"] = sort
                changed = True
        return changed
