"""Anthropic Messages ⇄ IR: requests and responses (streams: test_ir_anthropic_stream)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from anthropic.types import Message

from oneapi.relay import ir
from oneapi.relay.protocols import anthropic_messages, anthropic_request, openai_chat_request

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city and state"}},
        "required": ["location"],
    },
}

# Extended thinking with tool use over several turns: the thinking block (with its signature)
# must be sent back unchanged with the tool result.
THINKING_HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "What's the weather in Paris?"},
    {
        "role": "assistant",
        "content": [
            {
                "type": "thinking",
                "thinking": "The user wants the weather. I'll call the tool.",
                "signature": SIGNATURE,
            },
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDdsH"},
            {"type": "text", "text": "Let me check."},
            {
                "type": "tool_use",
                "id": "toolu_01A09q90qw90lq917835lq9",
                "name": "get_weather",
                "input": {"location": "Paris, France"},
            },
        ],
    },
    {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                "content": "18 °C, sunny",
            },
        ],
    },
    {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Sunny and mild.", "signature": SIGNATURE + "x"},
            {"type": "text", "text": "It's 18 °C and sunny in Paris."},
        ],
    },
    {"role": "user", "content": "Thanks! And tomorrow?"},
]


def claude_body(**fields: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Hi"}],
        **fields,
    }


# ---- requests --------------------------------------------------------------------------------


def test_request_reads_every_block_kind() -> None:
    body = claude_body(
        system=[
            {"type": "text", "text": "You are a careful analyst."},
            {"type": "text", "text": "<long reference text>", "cache_control": {"type": "ephemeral"}},
        ],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://upload.wikimedia.org/cat.jpg"},
                    },
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
                        "title": "Report",
                    },
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "The grass is green."},
                    },
                    {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
                    {"type": "text", "text": "Summarise these.", "cache_control": {"type": "ephemeral"}},
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "zoom", "input": {"factor": 2}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "zoom failed"},
                            {
                                "type": "image",
                                "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                            },
                        ],
                    },
                    {"type": "search_result", "source": "https://example.com", "title": "T", "content": []},
                ],
            },
        ],
    )
    req = anthropic_request.request_to_ir(copy.deepcopy(body))
    assert req.system == [
        ir.TextPart("You are a careful analyst."),
        ir.TextPart("<long reference text>", {"type": "ephemeral"}),
    ]
    assert req.messages[0].content == [
        ir.ImagePart(data=PNG, media_type="image/png"),
        ir.ImagePart(url="https://upload.wikimedia.org/cat.jpg"),
        ir.FilePart(data="JVBERi0x", media_type="application/pdf", filename="Report"),
        ir.FilePart(data="VGhlIGdyYXNzIGlzIGdyZWVuLg==", media_type="text/plain"),
        ir.FilePart(url="https://example.com/a.pdf"),
        ir.TextPart("Summarise these.", {"type": "ephemeral"}),
    ]
    assert req.messages[1].content == [ir.ToolCallPart("toolu_1", "zoom", '{"factor":2}')]
    result, unknown = req.messages[2].content
    assert result == ir.ToolResultPart(
        "toolu_1", [ir.TextPart("zoom failed"), ir.ImagePart(data=PNG, media_type="image/png")], is_error=True
    )
    assert isinstance(unknown, ir.TextPart) and '"type":"search_result"' in unknown.text
    out = anthropic_request.request_from_ir(req)
    assert out["system"] == body["system"]
    assert out["messages"][:2] == body["messages"][:2]
    assert out["messages"][2]["content"][0] == body["messages"][2]["content"][0]


def test_thinking_with_signatures_survives_claude_ir_claude_over_several_turns() -> None:
    body = claude_body(
        messages=THINKING_HISTORY,
        tools=[WEATHER_TOOL],
        thinking={"type": "enabled", "budget_tokens": 2048},
        max_tokens=4096,
    )
    req = anthropic_request.request_to_ir(copy.deepcopy(body))
    assert req.messages[1].content[0] == ir.ThinkingPart(
        "The user wants the weather. I'll call the tool.", SIGNATURE
    )
    assert req.messages[1].content[1] == ir.RedactedThinkingPart("EmwKAhgBEgy3va3pzix/LafPsn4aDdsH")
    assert req.reasoning == ir.Reasoning(budget_tokens=2048, enabled=True)
    assert anthropic_request.request_from_ir(req) == body


def test_tool_choice_stop_sequences_metadata_and_unknown_fields_round_trip() -> None:
    body = claude_body(
        tools=[WEATHER_TOOL, {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        stop_sequences=["\n\nHuman:"],
        temperature=0.5,
        top_k=40,
        metadata={"user_id": "13803d75-b4b5-4c3e-b2a2-6f21399b021b"},
        service_tier="auto",
        stream=True,
    )
    req = anthropic_request.request_to_ir(copy.deepcopy(body))
    assert req.tool_choice == ir.ToolChoice(ir.ToolChoiceMode.REQUIRED)
    assert req.parallel_tool_calls is False
    assert req.user == "13803d75-b4b5-4c3e-b2a2-6f21399b021b"
    assert req.sampling.stop == ["\n\nHuman:"] and req.sampling.top_k == 40
    assert req.extra["anthropic_messages"] == {
        "service_tier": "auto",
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}],
    }
    assert anthropic_request.request_from_ir(req) == body


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        (None, None, None),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        (ir.ToolChoice(ir.ToolChoiceMode.AUTO), None, {"type": "auto"}),
        (ir.ToolChoice(ir.ToolChoiceMode.NONE), True, {"type": "none"}),
        (ir.ToolChoice(ir.ToolChoiceMode.REQUIRED), None, {"type": "any"}),
        (
            ir.ToolChoice(ir.ToolChoiceMode.NAMED, "get_weather"),
            True,
            {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": False},
        ),
    ],
)
def test_tool_choice_is_written_in_anthropic_terms(
    choice: ir.ToolChoice | None, parallel: bool | None, expected: dict[str, Any] | None
) -> None:
    req = ir.Request(model="claude-sonnet-4-5", tool_choice=choice, parallel_tool_calls=parallel)
    assert anthropic_request.request_from_ir(req).get("tool_choice") == expected


def test_a_chat_tool_history_becomes_alternating_claude_turns() -> None:
    chat = {
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris and Boston?"},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "64F"},
            {"role": "user", "content": "Thanks"},
            {"role": "system", "content": "Answer in French."},
        ],
        "max_tokens": 300,
        "temperature": 0.3,
        "top_p": 0.9,
    }
    out = anthropic_request.request_from_ir(openai_chat_request.request_to_ir(chat))
    assert out["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "Answer in French."},
    ]
    assert out["messages"] == [
        {"role": "user", "content": "Weather in Paris and Boston?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"location": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "64F"},
                {"type": "text", "text": "Thanks"},
            ],
        },
    ]
    assert (out["max_tokens"], out["temperature"], "top_p" in out) == (300, 0.3, False)


def test_reasoning_from_other_formats_without_a_signature_is_not_sent_to_claude() -> None:
    req = ir.Request(
        model="claude-sonnet-4-5",
        messages=[
            ir.Message(ir.Role.USER, [ir.TextPart("Hi")]),
            ir.Message(ir.Role.ASSISTANT, [ir.ThinkingPart("deepseek thoughts"), ir.TextPart("Hello")]),
            ir.Message(ir.Role.ASSISTANT, [ir.ThinkingPart("only thoughts")]),
        ],
    )
    messages = anthropic_request.request_from_ir(req)["messages"]
    assert messages == [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]


def test_thinking_from_an_effort_gets_a_budget_and_drops_sampling() -> None:
    chat = {
        "model": "claude-opus-4-1",
        "messages": [{"role": "user", "content": "Prove it."}],
        "reasoning_effort": "high",
        "max_tokens": 1000,
        "temperature": 0.2,
        "top_k": 5,
    }
    out = anthropic_request.request_from_ir(openai_chat_request.request_to_ir(chat))
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert out["max_tokens"] == 2024
    assert not {"temperature", "top_p", "top_k", "output_config"} & out.keys()


def test_no_thinking_is_derived_when_a_tool_is_forced() -> None:
    chat = {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "Weather?"}],
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
        ],
        "tool_choice": "required",
        "reasoning_effort": "medium",
    }
    out = anthropic_request.request_from_ir(openai_chat_request.request_to_ir(chat))
    assert out["tool_choice"] == {"type": "any"}
    assert "thinking" not in out


def test_default_max_tokens_is_used_when_the_request_has_none() -> None:
    req = ir.Request(model="claude-3-5-haiku-latest", messages=[ir.Message(ir.Role.USER, [ir.TextPart("x")])])
    assert anthropic_request.request_from_ir(req)["max_tokens"] == 4096
    assert anthropic_request.request_from_ir(req, default_max_tokens=2048)["max_tokens"] == 2048


@pytest.mark.parametrize(
    "fields",
    [
        {"thinking": {"type": "adaptive"}, "output_config": {"effort": "medium"}},
        {"thinking": {"type": "disabled"}},
        {"output_config": {"effort": "low"}},
    ],
)
def test_adaptive_disabled_thinking_and_effort_round_trip(fields: dict[str, Any]) -> None:
    body = claude_body(**fields)
    assert anthropic_request.request_from_ir(anthropic_request.request_to_ir(copy.deepcopy(body))) == body


def test_structured_output_is_written_as_output_config_format() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
        "additionalProperties": False,
    }
    chat = {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "Extract: John"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": schema, "strict": True},
        },
    }
    out = anthropic_request.request_from_ir(openai_chat_request.request_to_ir(chat))
    assert out["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    req = anthropic_request.request_to_ir(out)
    assert req.response_format == ir.ResponseFormat("json_schema", schema=schema)
    json_object = {**chat, "response_format": {"type": "json_object"}}
    assert "output_config" not in anthropic_request.request_from_ir(
        openai_chat_request.request_to_ir(json_object)
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "claude-sonnet-4-5", "max_tokens": 5}, "messages: Field required"),
        (claude_body(messages=[{"role": "system", "content": "x"}]), "messages.0.role"),
        (claude_body(tool_choice={"type": "sometimes"}), "tool_choice.type must be"),
        (claude_body(system=[{"type": "image", "source": {"type": "url", "url": "u"}}]), "only text blocks"),
        (claude_body(stop_sequences=[3]), "stop_sequences must be an array of strings"),
    ],
)
def test_malformed_requests_raise_a_clear_error(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ir.ConversionError, match=message):
        anthropic_request.request_to_ir(body)


# ---- responses -------------------------------------------------------------------------------

MESSAGE = {
    "id": "msg_01Aq9w938a90dw8q",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "I should look this up.", "signature": SIGNATURE},
        {"type": "text", "text": "I'll check the weather."},
        {
            "type": "tool_use",
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "get_weather",
            "input": {"location": "San Francisco, CA"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 472,
        "cache_creation_input_tokens": 1500,
        "cache_read_input_tokens": 2000,
        "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 500},
        "output_tokens": 89,
    },
}


def test_response_with_thinking_tool_use_and_cache_usage_round_trips() -> None:
    resp = anthropic_messages.response_to_ir(MESSAGE)
    assert resp.content == [
        ir.ThinkingPart("I should look this up.", SIGNATURE),
        ir.TextPart("I'll check the weather."),
        ir.ToolCallPart("toolu_01A09q90qw90lq917835lq9", "get_weather", '{"location":"San Francisco, CA"}'),
    ]
    assert resp.stop_reason is ir.StopReason.TOOL_USE
    assert resp.usage == ir.Usage(
        input_tokens=3972,
        output_tokens=89,
        cached_tokens=2000,
        cache_write_5m_tokens=1000,
        cache_write_1h_tokens=500,
    )
    out = anthropic_messages.response_from_ir(resp)
    Message.model_validate(out)
    assert out == MESSAGE


def test_cache_creation_without_a_split_counts_as_five_minute_writes() -> None:
    usage = anthropic_messages.usage_to_ir(
        {
            "input_tokens": 10,
            "cache_creation_input_tokens": 300,
            "cache_read_input_tokens": 0,
            "output_tokens": 5,
        }
    )
    assert usage == ir.Usage(input_tokens=310, output_tokens=5, cache_write_5m_tokens=300)
    assert anthropic_messages.usage_from_ir(usage)["input_tokens"] == 10


@pytest.mark.parametrize(
    ("stop", "reason", "back"),
    [
        ("end_turn", ir.StopReason.END_TURN, "end_turn"),
        ("max_tokens", ir.StopReason.MAX_TOKENS, "max_tokens"),
        ("stop_sequence", ir.StopReason.STOP_SEQUENCE, "stop_sequence"),
        ("tool_use", ir.StopReason.TOOL_USE, "tool_use"),
        ("refusal", ir.StopReason.CONTENT_FILTER, "refusal"),
        ("model_context_window_exceeded", ir.StopReason.MAX_TOKENS, "max_tokens"),
        ("pause_turn", ir.StopReason.OTHER, "end_turn"),
    ],
)
def test_stop_reasons_map_both_ways(stop: str, reason: ir.StopReason, back: str) -> None:
    body = {**MESSAGE, "stop_reason": stop, "stop_sequence": "END" if stop == "stop_sequence" else None}
    resp = anthropic_messages.response_to_ir(body)
    assert resp.stop_reason is reason
    out = anthropic_messages.response_from_ir(resp)
    assert (out["stop_reason"], out["stop_sequence"]) == (back, body["stop_sequence"])


def test_a_chat_response_becomes_a_valid_claude_message() -> None:
    resp = ir.Response(
        id="chatcmpl-1",
        model="deepseek-reasoner",
        content=[ir.ThinkingPart("thoughts"), ir.TextPart("Answer")],
        stop_reason=ir.StopReason.END_TURN,
        usage=ir.Usage(input_tokens=100, output_tokens=50, cached_tokens=64, reasoning_tokens=30),
    )
    out = anthropic_messages.response_from_ir(resp)
    Message.model_validate(out)
    assert out["content"] == [
        {"type": "thinking", "thinking": "thoughts", "signature": ""},
        {"type": "text", "text": "Answer"},
    ]
    assert out["usage"]["input_tokens"] == 36 and out["usage"]["cache_read_input_tokens"] == 64
    assert out["usage"]["output_tokens_details"] == {"thinking_tokens": 30}
