"""The body sent upstream: the client's bytes when nothing must change (fast lane), else re-encoded."""

from __future__ import annotations

from typing import Any

import orjson

from oneapi.config import Settings
from oneapi.relay.channel import Channel
from oneapi.relay.modes import Mode
from oneapi.relay.providers.base import Provider


def apply_system_prompt(body: dict[str, Any], prompt: str) -> bool:
    """The channel's forced system prompt replaces a leading system message or is prepended."""
    messages = body.get("messages")
    if not prompt or not isinstance(messages, list) or not messages:
        return False
    first = messages[0]
    if isinstance(first, dict) and first.get("role") == "system":
        messages[0] = {**first, "content": prompt}
    else:
        messages.insert(0, {"role": "system", "content": prompt})
    return True


def build_payload(
    raw: bytes,
    mode: Mode,
    stream: bool,
    channel: Channel,
    provider: Provider,
    upstream_model: str,
    settings: Settings,
) -> tuple[bytes, bool]:
    """(bytes to send, whether the system prompt was reset). A fresh parse each attempt: no leaks."""
    body = orjson.loads(raw)
    changed = False
    if body.get("model") != upstream_model:  # mapped, or defaulted (moderations, engines path)
        body["model"] = upstream_model
        changed = True
    reset = mode is Mode.CHAT and apply_system_prompt(body, channel.system_prompt)
    changed |= reset
    if stream and settings.enforce_include_usage:
        options = body.get("stream_options")
        if not isinstance(options, dict) or options.get("include_usage") is not True:
            body["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
            changed = True
    changed |= provider.adjust_body(body, upstream_model, mode, settings)
    return (orjson.dumps(body) if changed else raw), reset
