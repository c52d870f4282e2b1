"""OpenAI Responses requests ⇄ IR (response objects: test_ir_responses_object)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from oneapi.relay import ir
from oneapi.relay.protocols import (
    anthropic_request,
    openai_chat_request,
    openai_responses_request,
)

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
ENCRYPTED = "gAAAAABoX1a78BDqk_J4uGoxtDucvs8hQmTkFq2zLr3"
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"location": {"type": "string"}},
    "required": ["location"],
    "additionalProperties": False,
}
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "parameters": WEATHER_SCHEMA,
    "strict": True,
}
# A stateless multi-turn tool conversation, as the openai SDK sends it with store=false.
TOOL_HISTORY: list[dict[str, Any]] = [
    {"role": "developer", "content": "Answer in one sentence."},
    {
        "role": "user",
        "content": [
            {"type": "input_text", "text": "What's the weather where this was taken?"},
            {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "low"},
        ],
    },
    {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "**Locating the photo**"}],
        "encrypted_content": ENCRYPTED,
    },
    {
        "type": "function_call",
        "call_id": "call_3HKSXyNpXCc0VxX1NPDSjGVt",
        "name": "get_weather",
        "arguments": '{"location":"Paris, France"}',
    },
    {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": '{"location":"Lyon"}'},
    {"type": "function_call_output", "call_id": "call_3HKSXyNpXCc0VxX1NPDSjGVt", "output": "18 °C, sunny"},
    {"type": "function_call_output", "call_id": "call_2", "output": "20 °C"},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "It's 18 °C."}]},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And tomorrow?"}]},
]


def responses_body(**fields: Any) -> dict[str, Any]:
    return {"model": "gpt-5-mini", "input": "Hi", **fields}


# ---- requests --------------------------------------------------------------------------------


def test_request_reads_tool_history_reasoning_and_settings() -> None:
    body = responses_body(
        instructions="You are a weather bot.",
        input=TOOL_HISTORY,
        tools=[WEATHER_TOOL, {"type": "web_search", "search_context_size": "low"}],
        tool_choice={"type": "function", "name": "get_weather"},
        text={
            "format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True},
            "verbosity": "low",
        },
        reasoning={"effort": "high", "summary": "auto"},
        max_output_tokens=2048,
        temperature=0.7,
        top_p=0.9,
        parallel_tool_calls=False,
        stream=True,
        store=False,
        include=["reasoning.encrypted_content"],
        previous_response_id=None,
        metadata={"session": "42"},
        user="user-1",
    )
    req = openai_responses_request.request_to_ir(copy.deepcopy(body))
    assert req.system == [ir.TextPart("You are a weather bot."), ir.TextPart("Answer in one sentence.")]
    assert [m.role for m in req.messages] == [
        ir.Role.USER,
        ir.Role.ASSISTANT,
        ir.Role.USER,
        ir.Role.ASSISTANT,
        ir.Role.USER,
    ]
    assert req.messages[0].content == [
        ir.TextPart("What's the weather where this was taken?"),
        ir.ImagePart(data=PNG, media_type="image/png", detail="low"),
    ]
    assert req.messages[1].content == [
        ir.ThinkingPart("**Locating the photo**", ENCRYPTED),
        ir.ToolCallPart("call_3HKSXyNpXCc0VxX1NPDSjGVt", "get_weather", '{"location":"Paris, France"}'),
        ir.ToolCallPart("call_2", "get_weather", '{"location":"Lyon"}'),
    ]
    assert req.messages[2].content == [
        ir.ToolResultPart("call_3HKSXyNpXCc0VxX1NPDSjGVt", [ir.TextPart("18 °C, sunny")]),
        ir.ToolResultPart("call_2", [ir.TextPart("20 °C")]),
    ]
    assert req.tools == [
        ir.Tool("get_weather", "Get the current weather in a given location", WEATHER_SCHEMA, True)
    ]
    assert req.tool_choice == ir.ToolChoice(ir.ToolChoiceMode.NAMED, "get_weather")
    assert req.response_format == ir.ResponseFormat(
        "json_schema", "answer", schema={"type": "object"}, strict=True
    )
    assert req.reasoning == ir.Reasoning(effort="high", enabled=True, summary="auto")
    assert req.sampling == ir.Sampling(max_tokens=2048, temperature=0.7, top_p=0.9)
    assert (req.parallel_tool_calls, req.stream, req.user, req.metadata) == (
        False,
        True,
        "user-1",
        {"session": "42"},
    )
    assert req.extra["openai_responses"] == {
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "previous_response_id": None,
        "tools": [{"type": "web_search", "search_context_size": "low"}],
        "text": {"verbosity": "low"},
    }
    out = openai_responses_request.request_from_ir(req)
    assert out["instructions"] == "You are a weather bot.\n\nAnswer in one sentence."
    assert out["input"][1:] == [
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "**Locating the photo**"}],
            "encrypted_content": ENCRYPTED,
        },
        *[{**item} for item in TOOL_HISTORY[3:7]],
        TOOL_HISTORY[7],
        TOOL_HISTORY[8],
    ]
    for key in ("tool_choice", "reasoning", "max_output_tokens", "metadata", "store", "include", "user"):
        assert out[key] == body[key]
    assert out["text"] == body["text"]
    assert out["tools"] == body["tools"]


def test_chat_request_upgraded_to_responses() -> None:
    chat = {
        "model": "gpt-5",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Weather in Paris and Lyon?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "w", "arguments": '{"c":"Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "w", "arguments": '{"c":"Lyon"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18"},
            {"role": "tool", "tool_call_id": "call_2", "content": "20"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {"name": "w", "parameters": {"type": "object", "properties": {}}},
            }
        ],
        "max_completion_tokens": 500,
        "reasoning_effort": "low",
        "response_format": {"type": "json_object"},
        "stream": True,
    }
    out = openai_responses_request.request_from_ir(openai_chat_request.request_to_ir(chat))
    assert out == {
        "model": "gpt-5",
        "instructions": "Be terse.",
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Weather in Paris and Lyon?"}],
            },
            {"type": "function_call", "call_id": "call_1", "name": "w", "arguments": '{"c":"Paris"}'},
            {"type": "function_call", "call_id": "call_2", "name": "w", "arguments": '{"c":"Lyon"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "18"},
            {"type": "function_call_output", "call_id": "call_2", "output": "20"},
        ],
        "stream": True,
        "max_output_tokens": 500,
        "tools": [
            {
                "type": "function",
                "name": "w",
                "parameters": {"type": "object", "properties": {}},
                "strict": False,
            }
        ],
        "text": {"format": {"type": "json_object"}},
        "reasoning": {"effort": "low"},
    }


def test_responses_request_falls_back_to_chat() -> None:
    body = responses_body(
        instructions="Be terse.", input=TOOL_HISTORY, tools=[WEATHER_TOOL], max_output_tokens=100
    )
    chat = openai_chat_request.request_from_ir(openai_responses_request.request_to_ir(body))
    messages = chat["messages"]
    assert messages[0] == {
        "role": "system",
        "content": [
            {"type": "text", "text": "Be terse."},
            {"type": "text", "text": "Answer in one sentence."},
        ],
    }
    assert messages[2]["reasoning_content"] == "**Locating the photo**"
    assert [c["id"] for c in messages[2]["tool_calls"]] == ["call_3HKSXyNpXCc0VxX1NPDSjGVt", "call_2"]
    assert messages[3:5] == [
        {"role": "tool", "tool_call_id": "call_3HKSXyNpXCc0VxX1NPDSjGVt", "content": "18 °C, sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "20 °C"},
    ]
    assert messages[5:] == [
        {"role": "assistant", "content": "It's 18 °C."},
        {"role": "user", "content": "And tomorrow?"},
    ]
    assert chat["max_tokens"] == 100
    assert chat["tools"][0]["function"]["strict"] is True


def test_claude_request_to_responses_drops_unsigned_and_redacted_reasoning() -> None:
    claude = {
        "model": "gpt-5",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}],
        "thinking": {"type": "enabled", "budget_tokens": 4096},
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
                        "title": "r.pdf",
                    }
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "redacted_thinking", "data": "xyz"},
                    {"type": "text", "text": "Read it."},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [
                            {"type": "text", "text": "see"},
                            {
                                "type": "image",
                                "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                            },
                        ],
                    },
                    {"type": "text", "text": "Now?"},
                ],
            },
        ],
    }
    out = openai_responses_request.request_from_ir(anthropic_request.request_to_ir(claude))
    assert out["instructions"] == "A\n\nB"
    assert out["reasoning"] == {"effort": "medium"}
    assert out["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [
                {
                    "type": "input_file",
                    "file_data": "data:application/pdf;base64,JVBERi0x",
                    "filename": "r.pdf",
                }
            ],
        },
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Read it."}]},
        {
            "type": "function_call_output",
            "call_id": "t1",
            "output": [
                {"type": "input_text", "text": "see"},
                {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "auto"},
            ],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Now?"}]},
    ]


def test_output_for_a_call_in_a_stored_response_is_a_user_message() -> None:
    body = responses_body(
        previous_response_id="resp_123",
        input=[{"type": "function_call_output", "call_id": "call_earlier", "output": '{"temp": 18}'}],
    )
    req = openai_responses_request.request_to_ir(body)
    assert req.messages == [ir.Message(ir.Role.USER, [ir.TextPart('{"temp": 18}')])]
    assert req.extra["openai_responses"] == {"previous_response_id": "resp_123"}
    assert openai_chat_request.request_from_ir(req)["messages"] == [
        {"role": "user", "content": '{"temp": 18}'}
    ]


def test_request_errors_are_conversion_errors() -> None:
    with pytest.raises(ir.ConversionError, match="input"):
        openai_responses_request.request_to_ir(responses_body(input=42))
    with pytest.raises(ir.ConversionError, match="role"):
        openai_responses_request.request_to_ir(responses_body(input=[{"role": "tool", "content": "x"}]))
    with pytest.raises(ir.ConversionError, match=r"text\.format"):
        openai_responses_request.request_to_ir(responses_body(text={"format": {"type": "yaml"}}))
    req = openai_responses_request.request_to_ir(
        responses_body(input=[{"type": "item_reference", "id": "msg_1"}])
    )
    assert req.messages == []
