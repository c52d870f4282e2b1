"""OpenAI Chat Completions ⇄ IR: requests and responses (streams: test_ir_openai_chat_stream)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from openai.types.chat import ChatCompletion

from oneapi.relay import ir
from oneapi.relay.protocols import openai_chat, openai_chat_request

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}

# A conversation over several turns: two parallel tool calls, their results, a follow-up call.
TOOL_HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "You are a weather assistant."},
    {"role": "user", "content": "What's the weather in Paris and in Boston?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_paris",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location":"Paris, France"}'},
            },
            {
                "id": "call_boston",
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "arguments": '{"location":"Boston, MA","unit":"fahrenheit"}',
                },
            },
        ],
    },
    {"role": "tool", "tool_call_id": "call_paris", "content": '{"temperature": 18, "unit": "celsius"}'},
    {"role": "tool", "tool_call_id": "call_boston", "content": '{"temperature": 64, "unit": "fahrenheit"}'},
    {"role": "assistant", "content": "Paris is 18 °C and Boston is 64 °F."},
    {"role": "user", "content": "And Tokyo?"},
    {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [
            {
                "id": "call_tokyo",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location":"Tokyo"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_tokyo", "content": '{"temperature": 22}'},
]


def chat_body(**fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello!"}], **fields}


# ---- requests --------------------------------------------------------------------------------


def test_request_reads_every_content_kind() -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "developer", "content": "Answer in French."},
            {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Compare these."},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"},
                    },
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                    {
                        "type": "file",
                        "file": {
                            "filename": "report.pdf",
                            "file_data": "data:application/pdf;base64,JVBERi0x",
                        },
                    },
                    {"type": "file", "file": {"file_id": "file-abc123"}},
                ],
            },
            {"role": "assistant", "reasoning_content": "They differ.", "content": "Ils diffèrent."},
            {"role": "system", "content": "Now be verbose."},
            {"role": "user", "content": "Why?"},
        ],
    }
    req = openai_chat_request.request_to_ir(body)
    assert req.system == [ir.TextPart("Answer in French."), ir.TextPart("Be brief.")]
    user = req.messages[0]
    assert user.role is ir.Role.USER
    assert user.content == [
        ir.TextPart("Compare these."),
        ir.ImagePart(url="https://example.com/cat.jpg", detail="low"),
        ir.ImagePart(data=PNG, media_type="image/png"),
        ir.AudioPart("UklGRg==", "wav"),
        ir.FilePart(data="JVBERi0x", media_type="application/pdf", filename="report.pdf"),
        ir.FilePart(file_id="file-abc123"),
    ]
    assert req.messages[1] == ir.Message(
        ir.Role.ASSISTANT, [ir.ThinkingPart("They differ."), ir.TextPart("Ils diffèrent.")]
    )
    assert req.messages[2] == ir.Message(ir.Role.SYSTEM, [ir.TextPart("Now be verbose.")])
    assert req.messages[3] == ir.Message(ir.Role.USER, [ir.TextPart("Why?")])
    again = openai_chat_request.request_to_ir(openai_chat_request.request_from_ir(req))
    assert again == req


def test_tool_history_over_several_turns_survives_chat_ir_chat() -> None:
    body = chat_body(messages=TOOL_HISTORY, tools=[WEATHER_TOOL], tool_choice="auto")
    req = openai_chat_request.request_to_ir(copy.deepcopy(body))
    results = req.messages[2]
    assert results.role is ir.Role.USER
    assert [p.call_id for p in results.content if isinstance(p, ir.ToolResultPart)] == [
        "call_paris",
        "call_boston",
    ]
    assert req.messages[1].content == [
        ir.ToolCallPart("call_paris", "get_weather", '{"location":"Paris, France"}'),
        ir.ToolCallPart("call_boston", "get_weather", '{"location":"Boston, MA","unit":"fahrenheit"}'),
    ]
    assert req.tools == [
        ir.Tool(
            name="get_weather",
            description="Get the current weather in a given location",
            parameters=WEATHER_TOOL["function"]["parameters"],
        )
    ]
    assert req.tool_choice == ir.ToolChoice(ir.ToolChoiceMode.AUTO)
    assert openai_chat_request.request_from_ir(req) == body


def test_sampling_reasoning_and_structured_output_are_read_and_written() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    body = chat_body(
        max_completion_tokens=1024,
        temperature=0.7,
        top_p=0.9,
        stop="END",
        seed=42,
        presence_penalty=0.5,
        frequency_penalty=0.25,
        reasoning_effort="low",
        parallel_tool_calls=False,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "description": "A person", "schema": schema, "strict": True},
        },
        user="user-1234",
        metadata={"session": "abc"},
        stream=True,
    )
    req = openai_chat_request.request_to_ir(body)
    assert req.sampling == ir.Sampling(
        max_tokens=1024,
        temperature=0.7,
        top_p=0.9,
        stop=["END"],
        seed=42,
        presence_penalty=0.5,
        frequency_penalty=0.25,
    )
    assert req.reasoning == ir.Reasoning(effort="low", enabled=True)
    assert req.tool_choice == ir.ToolChoice(ir.ToolChoiceMode.NAMED, "get_weather")
    assert req.parallel_tool_calls is False
    assert req.response_format == ir.ResponseFormat(
        "json_schema", name="person", description="A person", schema=schema, strict=True
    )
    assert (req.user, req.metadata, req.stream) == ("user-1234", {"session": "abc"}, True)
    out = openai_chat_request.request_from_ir(req)
    assert out["max_tokens"] == 1024 and out["stop"] == ["END"]
    assert out["response_format"] == body["response_format"]
    assert out["tool_choice"] == body["tool_choice"]
    assert out["reasoning_effort"] == "low"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"reasoning_effort": "none"}, ir.Reasoning(effort="none", enabled=False)),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2048}},
            ir.Reasoning(budget_tokens=2048, enabled=True),
        ),
        ({"thinking": {"type": "disabled"}}, ir.Reasoning(enabled=False)),
        ({"reasoning": {"effort": "high"}}, ir.Reasoning(effort="high", enabled=True)),
        ({"reasoning": {"max_tokens": 3000}}, ir.Reasoning(budget_tokens=3000, enabled=True)),
        ({"reasoning": {"enabled": True}}, ir.Reasoning(enabled=True)),
    ],
)
def test_reasoning_settings_are_read_from_every_chat_dialect(
    fields: dict[str, Any], expected: ir.Reasoning
) -> None:
    assert openai_chat_request.request_to_ir(chat_body(**fields)).reasoning == expected


def test_a_thinking_budget_is_written_as_the_nearest_effort() -> None:
    req = openai_chat_request.request_to_ir(chat_body(thinking={"type": "enabled", "budget_tokens": 16000}))
    assert openai_chat_request.request_from_ir(req)["reasoning_effort"] == "high"


def test_unknown_fields_and_other_tools_are_kept_for_chat_only() -> None:
    custom_tool = {"type": "custom", "custom": {"name": "code_exec"}}
    body = chat_body(
        n=2,
        logprobs=True,
        stream_options={"include_usage": True},
        tools=[WEATHER_TOOL, custom_tool],
        tool_choice={"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}},
        x_vendor_flag={"deep": [1, 2]},
    )
    req = openai_chat_request.request_to_ir(body)
    assert req.extra["openai_chat"] == {
        "n": 2,
        "logprobs": True,
        "stream_options": {"include_usage": True},
        "x_vendor_flag": {"deep": [1, 2]},
        "tools": [custom_tool],
        "tool_choice": body["tool_choice"],
    }
    assert openai_chat_request.request_from_ir(req) == body


def test_tool_results_with_images_become_tool_then_user_messages() -> None:
    req = ir.Request(
        model="gpt-4o",
        messages=[
            ir.Message(ir.Role.ASSISTANT, [ir.ToolCallPart("toolu_1", "screenshot", "{}")]),
            ir.Message(
                ir.Role.USER,
                [
                    ir.ToolResultPart(
                        "toolu_1",
                        [ir.TextPart("Here it is"), ir.ImagePart(data=PNG, media_type="image/png")],
                    ),
                    ir.TextPart("What do you see?"),
                ],
            ),
        ],
    )
    messages = openai_chat_request.request_from_ir(req)["messages"]
    assert messages[1] == {"role": "tool", "tool_call_id": "toolu_1", "content": "Here it is"}
    assert messages[2] == {
        "role": "user",
        "content": [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            {"type": "text", "text": "What do you see?"},
        ],
    }


def test_earlier_reasoning_goes_to_the_chosen_field_or_nowhere() -> None:
    req = ir.Request(
        model="deepseek-reasoner",
        messages=[ir.Message(ir.Role.ASSISTANT, [ir.ThinkingPart("hmm", "sig"), ir.TextPart("Hi")])],
    )
    assert openai_chat_request.request_from_ir(req)["messages"][0] == {
        "role": "assistant",
        "content": "Hi",
        "reasoning_content": "hmm",
    }
    message = openai_chat_request.request_from_ir(req, reasoning_field=None)["messages"][0]
    assert message == {"role": "assistant", "content": "Hi"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "gpt-4o"}, "messages is required"),
        (
            chat_body(messages=[{"role": "wizard", "content": "hi"}]),
            "messages[0].role 'wizard' is not supported",
        ),
        (chat_body(temperature="hot"), "temperature must be a number"),
        (chat_body(stop=[1]), "stop must be a string or an array of strings"),
        (
            chat_body(messages=[{"role": "user", "content": 5}]),
            "message content must be a string or an array",
        ),
        (chat_body(response_format={"type": "xml"}), "response_format.type must be"),
    ],
)
def test_malformed_requests_raise_a_clear_error(body: Any, message: str) -> None:
    with pytest.raises(ir.ConversionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        openai_chat_request.request_to_ir(body)


# ---- responses -------------------------------------------------------------------------------

TOOL_RESPONSE = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1699896916,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc123",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{\n"location": "Boston, MA"\n}'},
                    }
                ],
                "refusal": None,
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 192, "audio_tokens": 0},
    },
    "system_fingerprint": "fp_44709d6fcb",
}


def test_response_with_tool_calls_and_usage_details_is_read() -> None:
    resp = openai_chat.response_to_ir(TOOL_RESPONSE)
    assert resp == ir.Response(
        id="chatcmpl-abc123",
        model="gpt-4o-mini-2024-07-18",
        content=[ir.ToolCallPart("call_abc123", "get_weather", '{\n"location": "Boston, MA"\n}')],
        stop_reason=ir.StopReason.TOOL_USE,
        usage=ir.Usage(input_tokens=2006, output_tokens=300, cached_tokens=1920, reasoning_tokens=192),
        created=1699896916,
    )
    out = openai_chat.response_from_ir(resp)
    ChatCompletion.model_validate(out)
    assert out["choices"][0]["message"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": TOOL_RESPONSE["choices"][0]["message"]["tool_calls"],  # type: ignore[index]
    }
    assert out["usage"] == {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920},
        "completion_tokens_details": {"reasoning_tokens": 192},
    }


def test_deepseek_reasoning_and_cache_hits_are_read() -> None:
    body = {
        "id": "930c60df-bf64-41c9-a88e-3ec75f81e00e",
        "object": "chat.completion",
        "created": 1737000000,
        "model": "deepseek-reasoner",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "9.11 < 9.8",
                    "reasoning_content": "Compare decimals.",
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 20,
            "completion_tokens": 40,
            "total_tokens": 60,
            "prompt_cache_hit_tokens": 16,
            "prompt_cache_miss_tokens": 4,
            "completion_tokens_details": {"reasoning_tokens": 30},
        },
    }
    resp = openai_chat.response_to_ir(body)
    assert resp.content == [ir.ThinkingPart("Compare decimals."), ir.TextPart("9.11 < 9.8")]
    assert resp.usage == ir.Usage(input_tokens=20, output_tokens=40, cached_tokens=16, reasoning_tokens=30)


@pytest.mark.parametrize("fmt", ["reasoning_content", "reasoning", "thinking"])
def test_response_reasoning_goes_to_the_chosen_field_only(fmt: openai_chat.ReasoningFormat) -> None:
    resp = ir.Response(
        id="msg_1",
        model="claude-sonnet-4-5",
        content=[ir.ThinkingPart("Let me think", "EqQBCgIYAhIM"), ir.TextPart("42")],
        stop_reason=ir.StopReason.END_TURN,
        created=1700000000,
    )
    message = openai_chat.response_from_ir(resp, reasoning_format=fmt)["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "42", fmt: "Let me think"}


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        (ir.StopReason.END_TURN, "stop"),
        (ir.StopReason.STOP_SEQUENCE, "stop"),
        (ir.StopReason.MAX_TOKENS, "length"),
        (ir.StopReason.TOOL_USE, "tool_calls"),
        (ir.StopReason.CONTENT_FILTER, "content_filter"),
        (ir.StopReason.OTHER, "stop"),
    ],
)
def test_stop_reasons_map_to_finish_reasons(reason: ir.StopReason, finish: str) -> None:
    resp = ir.Response(id="x", model="m", content=[ir.TextPart("t")], stop_reason=reason, created=1)
    assert openai_chat.response_from_ir(resp)["choices"][0]["finish_reason"] == finish
    assert openai_chat.finish_to_ir("function_call") is ir.StopReason.TOOL_USE
    assert openai_chat.finish_to_ir("weird") is ir.StopReason.OTHER


def test_cache_writes_are_written_as_cache_write_tokens() -> None:
    usage = ir.Usage(
        input_tokens=1000,
        output_tokens=10,
        cached_tokens=200,
        cache_write_5m_tokens=300,
        cache_write_1h_tokens=100,
    )
    out = openai_chat.usage_from_ir(usage)
    assert out["prompt_tokens_details"] == {"cached_tokens": 200, "cache_write_tokens": 400}
    assert openai_chat.usage_to_ir(out).cache_write_5m_tokens == 400
