"""The prompt-token estimate that sizes a request's reservation (SPEC §5.4)."""

from __future__ import annotations

from typing import Any

from oneapi.relay.metering import approximate, count_chat_prompt, count_input, count_text
from oneapi.relay.modes import Mode


def prompt_tokens(mode: Mode, body: dict[str, Any], model: str, approximate_only: bool) -> int:
    if mode is Mode.CHAT:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return 0
        if approximate_only:
            return approximate(str(messages))
        return count_chat_prompt(messages, model)
    if mode is Mode.COMPLETIONS:
        prompt = body.get("prompt")
        text = prompt if isinstance(prompt, str) else "".join(p for p in prompt or [] if isinstance(p, str))
        return approximate(text) if approximate_only else count_text(text, model)
    if mode in (Mode.EMBEDDINGS, Mode.MODERATIONS):
        return count_input(body.get("input"), model)
    return 0


def max_output_tokens(body: dict[str, Any]) -> int:
    for field in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = body.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0
