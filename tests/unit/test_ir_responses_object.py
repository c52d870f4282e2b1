"""OpenAI Responses response objects ⇄ IR (streams: test_ir_responses_stream)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from openai.types.responses import Response

from oneapi.relay import ir
from oneapi.relay.protocols import openai_chat, openai_responses
from tests.unit.test_ir_responses import ENCRYPTED, WEATHER_TOOL, responses_body

# A reasoning model's answer that thought, said something and called a tool.
RESPONSE: dict[str, Any] = {
    "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
    "object": "response",
    "created_at": 1741476542,
    "status": "completed",
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "max_output_tokens": None,
    "model": "o4-mini-2025-04-16",
    "output": [
        {
            "id": "rs_6876cf02e0bc8192b74af0fb64b715ff06fa2fcced15a5ac",
            "type": "reasoning",
            "summary": [
                {"type": "summary_text", "text": "**Finding the weather**"},
                {"type": "summary_text", "text": "I need the tool."},
            ],
            "encrypted_content": ENCRYPTED,
        },
        {
            "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}],
        },
        {
            "id": "fc_67ca09c6bedc8190a7abfec07b1a1332096610f474011cc0",
            "type": "function_call",
            "status": "completed",
            "call_id": "call_unLAR8MvFNptuiZK6K6HCy5k",
            "name": "get_weather",
            "arguments": '{"location":"Paris, France"}',
        },
        {
            "id": "ws_1",
            "type": "web_search_call",
            "status": "completed",
            "action": {"type": "search", "query": "x"},
        },
    ],
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "reasoning": {"effort": "medium", "summary": "auto"},
    "store": True,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [WEATHER_TOOL],
    "top_p": 1.0,
    "truncation": "disabled",
    "usage": {
        "input_tokens": 328,
        "input_tokens_details": {"cached_tokens": 256, "cache_write_tokens": 0},
        "output_tokens": 152,
        "output_tokens_details": {"reasoning_tokens": 128},
        "total_tokens": 480,
    },
    "user": None,
    "metadata": {},
}


# ---- responses -------------------------------------------------------------------------------


def test_response_object_to_ir() -> None:
    Response.model_validate(RESPONSE)
    resp = openai_responses.response_to_ir(copy.deepcopy(RESPONSE))
    assert resp.id == RESPONSE["id"] and resp.model == "o4-mini-2025-04-16" and resp.created == 1741476542
    assert resp.content == [
        ir.ThinkingPart("**Finding the weather**\n\nI need the tool.", ENCRYPTED),
        ir.TextPart("Let me check."),
        ir.ToolCallPart("call_unLAR8MvFNptuiZK6K6HCy5k", "get_weather", '{"location":"Paris, France"}'),
    ]
    assert resp.stop_reason is ir.StopReason.TOOL_USE
    assert resp.usage == ir.Usage(
        input_tokens=328, output_tokens=152, cached_tokens=256, reasoning_tokens=128
    )
    chat = openai_chat.response_from_ir(resp, reasoning_format="reasoning_content")
    assert chat["choices"][0]["finish_reason"] == "tool_calls"
    assert chat["usage"]["prompt_tokens_details"]["cached_tokens"] == 256


@pytest.mark.parametrize(
    ("reason", "status", "details"),
    [
        (ir.StopReason.END_TURN, "completed", None),
        (ir.StopReason.TOOL_USE, "completed", None),
        (ir.StopReason.MAX_TOKENS, "incomplete", {"reason": "max_output_tokens"}),
        (ir.StopReason.CONTENT_FILTER, "incomplete", {"reason": "content_filter"}),
    ],
)
def test_response_from_ir_is_a_valid_responses_object(
    reason: ir.StopReason, status: str, details: dict[str, str] | None
) -> None:
    resp = ir.Response(
        id="chatcmpl-123",
        model="claude-sonnet-4-5",
        content=[
            ir.ThinkingPart("Plan.", "sig"),
            ir.RedactedThinkingPart("opaque"),
            ir.TextPart("Hello"),
            ir.ToolCallPart("toolu_1", "f", '{"a":1}'),
        ],
        stop_reason=reason,
        usage=ir.Usage(
            input_tokens=100, output_tokens=20, cached_tokens=40, cache_write_5m_tokens=10, reasoning_tokens=5
        ),
        created=1700000000,
    )
    request = responses_body(
        instructions="Be nice.",
        tools=[WEATHER_TOOL],
        temperature=0.2,
        max_output_tokens=64,
        metadata={"k": "v"},
    )
    body = openai_responses.response_from_ir(resp, request=request)
    parsed = Response.model_validate(body)
    assert parsed.id.startswith("resp_") and parsed.object == "response" and parsed.created_at == 1700000000
    assert (body["status"], body["incomplete_details"]) == (status, details)
    assert [item["type"] for item in body["output"]] == ["reasoning", "message", "function_call"]
    assert body["output"][0]["id"].startswith("rs_") and body["output"][0]["encrypted_content"] == "sig"
    assert body["output"][1]["id"].startswith("msg_") and body["output"][1]["content"][0]["text"] == "Hello"
    assert body["output"][2]["call_id"] == "toolu_1" and body["output"][2]["id"].startswith("fc_")
    assert body["usage"] == {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 10},
        "output_tokens": 20,
        "output_tokens_details": {"reasoning_tokens": 5},
        "total_tokens": 120,
    }
    assert (body["instructions"], body["temperature"], body["max_output_tokens"]) == ("Be nice.", 0.2, 64)
    assert body["tools"] == [WEATHER_TOOL] and body["metadata"] == {"k": "v"}
    assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is True
    back = openai_responses.response_to_ir(body)
    assert back.stop_reason is (ir.StopReason.TOOL_USE if reason is ir.StopReason.END_TURN else reason)


def test_minimal_response_keeps_a_resp_id_and_defaults() -> None:
    body = openai_responses.response_from_ir(
        ir.Response(id="resp_abc", model="gpt-4o", content=[ir.TextPart("Hi")])
    )
    parsed = Response.model_validate(body)
    assert parsed.id == "resp_abc" and parsed.output_text == "Hi" and parsed.usage is None
    assert body["text"] == {"format": {"type": "text"}} and body["tools"] == []
