"""A Chat or Claude caller's request sent as Responses: what the IR does not carry (SPEC §6.6).

`upgrade` finishes a Responses body written from a Chat or Claude Messages request (never from a
Responses one: that caller says itself what it wants stored and included):
- `store` is false unless a Chat caller asked for `store: true`: such a caller cannot name a stored
  response later (Chat and Messages have no `previous_response_id`), so OpenAI would only keep
  the conversation for 30 days to no purpose.
- Reasoning asked for (an effort other than "none") gets `summary: "auto"` unless given: without
  a summary OpenAI sends no reasoning text, and the caller asked to see it.
- A Claude caller with reasoning on gets `include: ["reasoning.encrypted_content"]`: with
  `store: false` the encrypted reasoning is the only way to send it back on the next turn, and
  it becomes the thinking block's `signature`. A Chat caller has no field to keep it in.
  Reasoning is still in the body here only for models that take it (the OpenAI provider removes
  it for non-reasoning OpenAI models, which also refuse encrypted content).
- `max_output_tokens` is at least 16, the least OpenAI accepts.
- Chat fields Responses has too, under the same or another name: `service_tier`,
  `prompt_cache_key`, `safety_identifier`, `verbosity` (→ `text.verbosity`) and
  `web_search_options` (→ a `web_search` tool).
"""

from __future__ import annotations

from typing import Any

from oneapi.relay.protocols import anthropic_messages, openai_chat

MIN_OUTPUT_TOKENS = 16
SHARED_CHAT_FIELDS = ("service_tier", "prompt_cache_key", "safety_identifier")
ENCRYPTED_REASONING = "reasoning.encrypted_content"


def upgrade(body: dict[str, Any], caller_format: str, caller_body: dict[str, Any]) -> None:
    """Finish `body` (a Responses request) for a caller speaking `caller_format`, in place."""
    chat = caller_format == openai_chat.FORMAT
    body["store"] = caller_body.get("store") is True if chat else False
    cap = body.get("max_output_tokens")
    if isinstance(cap, int) and cap < MIN_OUTPUT_TOKENS:
        body["max_output_tokens"] = MIN_OUTPUT_TOKENS
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") not in (None, "none"):
        reasoning.setdefault("summary", "auto")
        if caller_format == anthropic_messages.FORMAT:
            include = body.setdefault("include", [])
            if ENCRYPTED_REASONING not in include:
                include.append(ENCRYPTED_REASONING)
    if chat:
        _chat_fields(body, caller_body)


def _chat_fields(body: dict[str, Any], caller: dict[str, Any]) -> None:
    for name in SHARED_CHAT_FIELDS:
        if caller.get(name) is not None:
            body[name] = caller[name]
    verbosity = caller.get("verbosity")
    if isinstance(verbosity, str):
        body.setdefault("text", {})["verbosity"] = verbosity
    search = caller.get("web_search_options")
    if isinstance(search, dict):
        body.setdefault("tools", []).append(_web_search_tool(search))


def _web_search_tool(options: dict[str, Any]) -> dict[str, Any]:
    """Chat's `web_search_options` as a Responses `web_search` tool (the location is flattened)."""
    tool: dict[str, Any] = {"type": "web_search"}
    if isinstance(options.get("search_context_size"), str):
        tool["search_context_size"] = options["search_context_size"]
    location = options.get("user_location")
    if isinstance(location, dict):
        approximate = location.get("approximate")
        fields = approximate if isinstance(approximate, dict) else {}
        tool["user_location"] = {"type": "approximate", **fields}
    return tool
