"""Anthropic Messages SSE event streams ⇄ IR events."""

from __future__ import annotations

import copy
from typing import Any

from anthropic.types import RawMessageStreamEvent
from pydantic import TypeAdapter

from oneapi.relay import ir
from oneapi.relay.ir_stream import ResponseAccumulator, response_events
from oneapi.relay.protocols import anthropic_messages
from oneapi.relay.protocols.anthropic_stream import EventDecoder, EventEncoder, Frame
from oneapi.relay.protocols.openai_chat_stream import ChunkDecoder
from tests.unit.test_ir_anthropic import MESSAGE, SIGNATURE

STREAM_EVENT = TypeAdapter(RawMessageStreamEvent)


def sse(event: str, **data: Any) -> Frame:
    return event, {"type": event, **data}


def block_delta(index: int, **delta: Any) -> Frame:
    return sse("content_block_delta", index=index, delta=delta)


CLAUDE_STREAM: list[Frame] = [
    sse(
        "message_start",
        message={
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-sonnet-4-5",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 25,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 100,
                "output_tokens": 1,
            },
        },
    ),
    sse("content_block_start", index=0, content_block={"type": "thinking", "thinking": "", "signature": ""}),
    block_delta(0, type="thinking_delta", thinking="Let me solve this step by step."),
    block_delta(0, type="thinking_delta", thinking=" 27 * 453 = 12231."),
    block_delta(0, type="signature_delta", signature=SIGNATURE),
    sse("content_block_stop", index=0),
    sse("content_block_start", index=1, content_block={"type": "text", "text": ""}),
    sse("ping"),
    block_delta(1, type="text_delta", text="The answer"),
    block_delta(1, type="text_delta", text=" is 12,231."),
    sse("content_block_stop", index=1),
    sse(
        "content_block_start",
        index=2,
        content_block={"type": "tool_use", "id": "toolu_01T1x", "name": "record", "input": {}},
    ),
    block_delta(2, type="input_json_delta", partial_json=""),
    block_delta(2, type="input_json_delta", partial_json='{"value'),
    block_delta(2, type="input_json_delta", partial_json='": 122'),
    block_delta(2, type="input_json_delta", partial_json="31}"),
    sse("content_block_stop", index=2),
    sse(
        "message_delta", delta={"stop_reason": "tool_use", "stop_sequence": None}, usage={"output_tokens": 89}
    ),
    sse("message_stop"),
]


def decode(frames: list[Frame]) -> list[ir.Event]:
    decoder = EventDecoder()
    return [event for name, data in frames for event in decoder.feed(name, data)]


def encode(events: list[ir.Event], **kwargs: Any) -> list[Frame]:
    encoder = EventEncoder(**kwargs)
    return [frame for event in events for frame in encoder.encode(event)] + encoder.finish()


def accumulate(events: list[ir.Event]) -> ir.Response:
    acc = ResponseAccumulator()
    for event in events:
        acc.feed(event)
    return acc.response


def test_a_claude_stream_is_decoded_into_ir_events() -> None:
    events = decode(CLAUDE_STREAM)
    start_usage = ir.Usage(input_tokens=125, output_tokens=1, cached_tokens=100)
    assert events == [
        ir.MessageStart("msg_01", "claude-sonnet-4-5", start_usage),
        ir.ThinkingDelta("Let me solve this step by step."),
        ir.ThinkingDelta(" 27 * 453 = 12231."),
        ir.ThinkingDelta(signature=SIGNATURE),
        ir.TextDelta("The answer"),
        ir.TextDelta(" is 12,231."),
        ir.ToolCallStart(0, "toolu_01T1x", "record"),
        ir.ToolCallDelta(0, '{"value'),
        ir.ToolCallDelta(0, '": 122'),
        ir.ToolCallDelta(0, "31}"),
        ir.Stop(ir.StopReason.TOOL_USE),
        ir.UsageUpdate(ir.Usage(input_tokens=125, output_tokens=89, cached_tokens=100)),
    ]


def test_a_claude_stream_survives_claude_ir_claude_exactly() -> None:
    frames = encode(decode(CLAUDE_STREAM))
    expected = [frame for frame in copy.deepcopy(CLAUDE_STREAM) if frame[0] != "ping"]
    expected = [f for f in expected if f != block_delta(2, type="input_json_delta", partial_json="")]
    full_usage = {
        "input_tokens": 25,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 100,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
    }
    expected[0][1]["message"]["usage"] = {**full_usage, "output_tokens": 1}
    expected[-2] = sse(
        "message_delta",
        delta={"stop_reason": "tool_use", "stop_sequence": None},
        usage={**full_usage, "output_tokens": 89},
    )
    assert frames == expected
    for _, data in frames:
        STREAM_EVENT.validate_python(data)


def test_chat_chunks_with_reasoning_and_streamed_tools_become_a_claude_stream() -> None:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-9",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "deepseek-chat",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "Need the"}),
        chunk({"reasoning_content": " weather."}),
        chunk({"content": "Checking"}),
        chunk({"content": " now."}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"loc'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ation":"Paris"}'}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": "{}"},
                    }
                ]
            }
        ),
        chunk({}, "tool_calls"),
        {
            **chunk({}),
            "choices": [],
            "usage": {
                "prompt_tokens": 30,
                "completion_tokens": 12,
                "total_tokens": 42,
                "prompt_tokens_details": {"cached_tokens": 10},
            },
        },
    ]
    decoder = ChunkDecoder()
    events = [event for c in chunks for event in decoder.feed(c)]
    frames = encode(events)
    for _, data in frames:
        STREAM_EVENT.validate_python(data)
    summary = [
        (name, data.get("index"), (data.get("content_block") or data.get("delta") or {}).get("type"))
        for name, data in frames
    ]
    assert summary == [
        ("message_start", None, None),
        ("content_block_start", 0, "thinking"),
        ("content_block_delta", 0, "thinking_delta"),
        ("content_block_delta", 0, "thinking_delta"),
        ("content_block_stop", 0, None),
        ("content_block_start", 1, "text"),
        ("content_block_delta", 1, "text_delta"),
        ("content_block_delta", 1, "text_delta"),
        ("content_block_stop", 1, None),
        ("content_block_start", 2, "tool_use"),
        ("content_block_delta", 2, "input_json_delta"),
        ("content_block_delta", 2, "input_json_delta"),
        ("content_block_stop", 2, None),
        ("content_block_start", 3, "tool_use"),
        ("content_block_delta", 3, "input_json_delta"),
        ("content_block_stop", 3, None),
        ("message_delta", None, None),
        ("message_stop", None, None),
    ]
    assert frames[9][1]["content_block"] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "get_weather",
        "input": {},
    }
    assert frames[-2][1]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert frames[-2][1]["usage"]["input_tokens"] == 20
    assert frames[-2][1]["usage"]["cache_read_input_tokens"] == 10
    assert frames[-2][1]["usage"]["output_tokens"] == 12
    back = accumulate(decode(frames))
    assert back.content == [
        ir.ThinkingPart("Need the weather."),
        ir.TextPart("Checking now."),
        ir.ToolCallPart("call_1", "get_weather", '{"location":"Paris"}'),
        ir.ToolCallPart("call_2", "get_time", "{}"),
    ]


def test_interleaved_tool_fragments_keep_their_own_block_index() -> None:
    frames = encode(
        [
            ir.ToolCallStart(0, "a", "f"),
            ir.ToolCallStart(1, "b", "g"),
            ir.ToolCallDelta(0, '{"x":1}'),
            ir.ToolCallDelta(1, '{"y":2}'),
        ],
        id="msg_1",
        model="m",
    )
    back = accumulate(decode(frames))
    assert back.content == [ir.ToolCallPart("a", "f", '{"x":1}'), ir.ToolCallPart("b", "g", '{"y":2}')]
    assert back.stop_reason is ir.StopReason.TOOL_USE


def test_an_error_mid_stream_is_an_error_event_and_ends_the_message() -> None:
    encoder = EventEncoder(id="msg_1", model="claude-sonnet-4-5")
    frames = encoder.encode(ir.TextDelta("partial"))
    error = encoder.encode(ir.StreamError("Overloaded", "overloaded_error"))
    assert error == [
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    ]
    assert encoder.finish() == [] and encoder.encode(ir.TextDelta("more")) == []
    assert [name for name, _ in frames] == ["message_start", "content_block_start", "content_block_delta"]
    assert decode(error) == [ir.StreamError("Overloaded", "overloaded_error")]


def test_a_whole_response_streams_and_accumulates_back() -> None:
    resp = anthropic_messages.response_to_ir(MESSAGE)
    frames = encode(response_events(resp))
    for _, data in frames:
        STREAM_EVENT.validate_python(data)
    assert accumulate(decode(frames)) == resp
