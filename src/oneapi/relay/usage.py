"""Read token usage from OpenAI-format responses and streams, counting locally when none is given."""

from __future__ import annotations

from typing import Any

import orjson

from oneapi.services.pricing import Usage


def usage_from(obj: Any) -> Usage | None:
    """The `usage` of an OpenAI chat/completions/embeddings object, or None when absent or empty."""
    if not isinstance(obj, dict):
        return None
    usage = obj.get("usage")
    if not isinstance(usage, dict):
        return None
    prompt = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
    completion = _int(usage.get("completion_tokens", usage.get("output_tokens")))
    total = _int(usage.get("total_tokens"))
    if prompt == 0 and completion == 0 and total == 0:
        return None
    if prompt == 0 and completion == 0:
        prompt = total
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    out_details = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=_int(details.get("cached_tokens")) if isinstance(details, dict) else 0,
        reasoning_tokens=_int(out_details.get("reasoning_tokens")) if isinstance(out_details, dict) else 0,
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def response_text(obj: Any) -> str:
    """All generated text of a non-stream chat/completions response (for counting without usage)."""
    parts: list[str] = []
    for choice in obj.get("choices") or [] if isinstance(obj, dict) else []:
        if not isinstance(choice, dict):
            continue
        message = choice.get("message") or {}
        if isinstance(message, dict):
            _collect(message, parts)
        if isinstance(choice.get("text"), str):
            parts.append(choice["text"])
    return "".join(parts)


def _collect(message: dict[str, Any], parts: list[str]) -> None:
    for field in ("content", "reasoning_content", "reasoning"):
        value = message.get(field)
        if isinstance(value, str):
            parts.append(value)
    for call in message.get("tool_calls") or []:
        if isinstance(call, dict):
            function = call.get("function") or {}
            if isinstance(function, dict):
                parts.append(str(function.get("name") or ""))
                parts.append(str(function.get("arguments") or ""))


class StreamUsage:
    """Watches a chat/completions SSE stream: keeps the last usage seen and the text produced."""

    __slots__ = ("done", "parts", "usage")

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.parts: list[str] = []
        self.done = False

    def observe(self, data: bytes) -> None:
        if data == b"[DONE]":
            self.done = True
            return
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(obj, dict):
            return
        usage = usage_from(obj)
        if usage is not None:
            self.usage = usage
        for choice in obj.get("choices") or []:
            if isinstance(choice, dict):
                delta = choice.get("delta")
                if isinstance(delta, dict):
                    _collect(delta, self.parts)
                elif isinstance(choice.get("text"), str):
                    self.parts.append(choice["text"])

    @property
    def text(self) -> str:
        return "".join(self.parts)
