"""Chat and Claude requests finished for a Responses upstream, and a failed Responses stream's one error."""

from __future__ import annotations

from typing import Any

from oneapi.relay import ir
from oneapi.relay.protocols.openai_responses_stream import EventDecoder
from oneapi.relay.protocols.openai_responses_upgrade import upgrade

CHAT, CLAUDE = "openai_chat", "anthropic_messages"


def finished(caller: str, body: dict[str, Any], caller_body: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"model": "o4-mini", "input": [], **body}
    upgrade(body, caller, caller_body or {})
    return body


def test_nothing_is_stored_unless_a_chat_caller_asks() -> None:
    assert finished(CHAT, {})["store"] is False
    assert finished(CHAT, {}, {"store": True})["store"] is True
    assert finished(CHAT, {}, {"store": "yes"})["store"] is False
    assert finished(CLAUDE, {}, {"store": True})["store"] is False


def test_reasoning_asked_for_gets_a_summary_and_claude_callers_the_encrypted_content() -> None:
    chat = finished(CHAT, {"reasoning": {"effort": "high"}})
    assert chat["reasoning"] == {"effort": "high", "summary": "auto"} and "include" not in chat
    claude = finished(CLAUDE, {"reasoning": {"effort": "low"}, "include": ["message.output_text.logprobs"]})
    assert claude["reasoning"] == {"effort": "low", "summary": "auto"}
    assert claude["include"] == ["message.output_text.logprobs", "reasoning.encrypted_content"]
    kept = finished(CLAUDE, {"reasoning": {"effort": "low", "summary": "detailed"}})
    assert kept["reasoning"]["summary"] == "detailed" and kept["include"] == ["reasoning.encrypted_content"]


def test_no_reasoning_or_effort_none_asks_for_nothing() -> None:
    for body in ({}, {"reasoning": {"effort": "none"}}, {"reasoning": {"summary": "auto"}}):
        out = finished(CLAUDE, dict(body))
        assert "include" not in out and out.get("reasoning") == body.get("reasoning")


def test_output_cap_is_at_least_sixteen() -> None:
    assert finished(CLAUDE, {"max_output_tokens": 1})["max_output_tokens"] == 16
    assert finished(CHAT, {"max_output_tokens": 500})["max_output_tokens"] == 500
    assert "max_output_tokens" not in finished(CHAT, {})


def test_chat_only_fields_are_not_taken_from_claude_callers() -> None:
    out = finished(CLAUDE, {}, {"service_tier": "auto", "verbosity": "low", "web_search_options": {}})
    assert "service_tier" not in out and "text" not in out and "tools" not in out


def test_chat_verbosity_joins_the_text_format_and_web_search_joins_the_tools() -> None:
    body = {"text": {"format": {"type": "json_object"}}, "tools": [{"type": "function", "name": "f"}]}
    out = finished(CHAT, body, {"verbosity": "high", "web_search_options": {}, "safety_identifier": "u1"})
    assert out["text"] == {"format": {"type": "json_object"}, "verbosity": "high"}
    assert out["tools"] == [{"type": "function", "name": "f"}, {"type": "web_search"}]
    assert out["safety_identifier"] == "u1"


def test_an_error_event_then_response_failed_is_one_error() -> None:
    decoder = EventDecoder()
    decoder.feed({"type": "response.created", "response": {"id": "resp_1", "model": "m"}})
    first = decoder.feed({"type": "error", "code": "server_error", "message": "boom"})
    assert first == [ir.StreamError("boom", code="server_error")]
    failed = {"type": "response.failed", "response": {"status": "failed", "error": {"message": "boom"}}}
    assert decoder.feed(failed) == []
    assert decoder.feed({"type": "response.output_text.delta", "delta": "late"}) == []


def test_response_failed_alone_is_an_error() -> None:
    decoder = EventDecoder()
    events = decoder.feed(
        {
            "type": "response.failed",
            "response": {"id": "r", "error": {"code": "server_error", "message": "x"}},
        }
    )
    assert events[-1] == ir.StreamError("x", code="server_error")
