"""Request fixes OpenAI-family upstreams need (SPEC §6.2), as pure functions on a parsed body.

Each function edits the dict in place and returns True when it changed something, so the caller
re-serialises only bodies that changed. Fields a rule does not name are never touched.

Choices:
- Reasoning models (o1/o3/o4…, gpt-5 except gpt-5-chat) get system messages as role "developer",
  which OpenAI accepts for all of them (the fork drops system messages; we keep the instruction).
- `max_tokens` is renamed only for reasoning models (OpenAI rejects it there); other models keep
  it, since many OpenAI-compatible upstreams know no `max_completion_tokens`. No default cap is
  added: a cap would cut reasoning models off mid-thought.
- `reasoning_effort` is dropped only for OpenAI's own non-reasoning families (gpt-*, chatgpt-*),
  which reject it; other vendors' models (grok, gemini, qwen, deepseek…) may accept it.
"""

from __future__ import annotations

from typing import Any

_REASONING_PREFIXES = ("o1", "o3", "o4")
_SEARCH_DROPPED = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "n")


def _base_name(model: str) -> str:
    """`openai/o3-mini` (OpenRouter style) → `o3-mini`, lower-cased."""
    return model.rsplit("/", 1)[-1].strip().lower()


def is_reasoning_model(model: str) -> bool:
    """OpenAI reasoning models: the o1/o3/o4 families and gpt-5* except the gpt-5-chat models."""
    name = _base_name(model)
    for prefix in _REASONING_PREFIXES:
        if name == prefix or name.startswith(prefix + "-"):
            return True
    return name.startswith("gpt-5") and not name.startswith("gpt-5-chat")


def is_search_model(model: str) -> bool:
    """The chat-completions web-search models (`gpt-4o-search-preview`, …), which take no sampling."""
    return "-search-preview" in _base_name(model)


def _is_openai_chat_model(name: str) -> bool:
    return name.startswith(("gpt-", "chatgpt-"))


def _drop(body: dict[str, Any], keys: tuple[str, ...]) -> bool:
    changed = False
    for key in keys:
        if key in body:
            del body[key]
            changed = True
    return changed


def normalize_reasoning(body: dict[str, Any]) -> bool:
    """Reasoning-model rules: token cap renamed, sampling knobs dropped, system → developer."""
    changed = False
    if "max_tokens" in body:
        value = body.pop("max_tokens")
        body.setdefault("max_completion_tokens", value)
        changed = True
    changed |= _drop(body, ("top_p",))
    if "temperature" in body and body["temperature"] != 1:
        del body["temperature"]
        changed = True
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict) and message.get("role") == "system":
                message["role"] = "developer"
                changed = True
    return changed


def ensure_stream_usage(body: dict[str, Any]) -> bool:
    """For a streamed request, ask for the final usage chunk (`stream_options.include_usage`)."""
    if body.get("stream") is not True:
        return False
    options = body.get("stream_options")
    if isinstance(options, dict):
        if options.get("include_usage") is True:
            return False
        options["include_usage"] = True
    else:
        body["stream_options"] = {"include_usage": True}
    return True


def normalize_chat(body: dict[str, Any], model: str, enforce_include_usage: bool) -> bool:
    """Every §6.2 rule for a chat/completions body bound for `model`; True if anything changed."""
    changed = False
    if is_reasoning_model(model):
        changed |= normalize_reasoning(body)
    elif _is_openai_chat_model(_base_name(model)):
        changed |= _drop(body, ("reasoning_effort",))
    if is_search_model(model):
        changed |= _drop(body, _SEARCH_DROPPED)
    if enforce_include_usage:
        changed |= ensure_stream_usage(body)
    return changed


def normalize_responses(body: dict[str, Any], model: str) -> bool:
    """A Responses body bound for a reasoning model loses `temperature` and `top_p` (SPEC §6.7),
    which OpenAI refuses there; a non-reasoning OpenAI model loses `reasoning`, refused likewise."""
    if is_reasoning_model(model):
        return _drop(body, ("temperature", "top_p"))
    if _is_openai_chat_model(_base_name(model)):
        return _drop(body, ("reasoning",))
    return False
