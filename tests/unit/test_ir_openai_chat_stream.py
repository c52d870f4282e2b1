"""OpenAI chat.completion.chunk streams ⇄ IR events."""

from __future__ import annotations

from typing import Any

from openai.types.chat import ChatCompletionChunk

from oneapi.relay import ir
from oneapi.relay.ir_stream import ResponseAccumulator, response_events
from oneapi.relay.protocols import openai_chat
from oneapi.relay.protocols.openai_chat_stream import ChunkDecoder, ChunkEncoder
from tests.unit.test_ir_openai_chat import TOOL_RESPONSE


def chunk(delta: dict[str, Any], finish: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        **fields,
    }


def call_fragment(index: int, arguments: str, **head: Any) -> dict[str, Any]:
    fragment: dict[str, Any] = {"index": index, **head, "function": {"arguments": arguments}}
    if "name" in head:
        fragment["type"] = "function"
        fragment["function"]["name"] = fragment.pop("name")
    return {"tool_calls": [fragment]}


STREAMED_TOOL_CALLS = [
    chunk({"role": "assistant", "content": None}),
    chunk(call_fragment(0, "", id="call_DdmO9pD3xa9XTPNJ32zg2hcA", name="get_weather")),
    *[chunk(call_fragment(0, piece)) for piece in ['{"', "location", '":"', "Paris", ", France", '"}']],
    chunk(call_fragment(1, "", id="call_ABC", name="get_weather")),
    *[chunk(call_fragment(1, piece)) for piece in ['{"loc', 'ation":"Bost', 'on, MA"}']],
    chunk({}, "tool_calls"),
    {
        **chunk({}),
        "choices": [],
        "usage": {"prompt_tokens": 82, "completion_tokens": 40, "total_tokens": 122},
    },
]


def decode(chunks: list[dict[str, Any]]) -> list[ir.Event]:
    decoder = ChunkDecoder()
    return [event for item in chunks for event in decoder.feed(item)]


def accumulate(events: list[ir.Event]) -> ir.Response:
    acc = ResponseAccumulator()
    for event in events:
        acc.feed(event)
    return acc.response


def test_streamed_tool_calls_in_many_fragments_are_decoded() -> None:
    for item in STREAMED_TOOL_CALLS:
        ChatCompletionChunk.model_validate(item)
    events = decode(STREAMED_TOOL_CALLS)
    assert events[0] == ir.MessageStart("chatcmpl-123", "gpt-4o-mini")
    assert events[1] == ir.ToolCallStart(0, "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather")
    assert events[2] == ir.ToolCallDelta(0, '{"')
    assert ir.ToolCallStart(1, "call_ABC", "get_weather") in events
    assert events[-2:] == [
        ir.Stop(ir.StopReason.TOOL_USE),
        ir.UsageUpdate(ir.Usage(input_tokens=82, output_tokens=40)),
    ]
    resp = accumulate(events)
    assert resp.content == [
        ir.ToolCallPart("call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", '{"location":"Paris, France"}'),
        ir.ToolCallPart("call_ABC", "get_weather", '{"location":"Boston, MA"}'),
    ]


def test_tool_calls_without_index_are_matched_by_id() -> None:
    events = decode(
        [
            chunk(
                {
                    "tool_calls": [
                        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    ]
                }
            ),
            chunk(
                {"tool_calls": [{"id": "b", "type": "function", "function": {"name": "g", "arguments": "{"}}]}
            ),
            chunk({"tool_calls": [{"id": "b", "function": {"arguments": "}"}}]}),
        ]
    )
    resp = accumulate(events)
    assert resp.content == [ir.ToolCallPart("a", "f", "{}"), ir.ToolCallPart("b", "g", "{}")]


def test_reasoning_deltas_from_any_field_are_decoded() -> None:
    events = decode(
        [
            chunk({"role": "assistant", "content": "", "reasoning_content": "Step 1. "}),
            chunk({"reasoning": "Step 2."}),
            chunk({"thinking": " Done."}),
            chunk({"content": "Answer"}),
            chunk({}, "stop"),
        ]
    )
    assert accumulate(events).content == [ir.ThinkingPart("Step 1. Step 2. Done."), ir.TextPart("Answer")]


def test_an_error_chunk_becomes_an_error_event_and_back() -> None:
    error = {"error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": "rate_limit"}}
    events = decode([error])
    assert events == [ir.StreamError("Rate limit reached", "rate_limit_error", "rate_limit")]
    assert ChunkEncoder(id="c", model="m", created=1).encode(events[0]) == [error]


def test_encoder_writes_the_chunk_sequence_with_a_final_usage_chunk() -> None:
    encoder = ChunkEncoder(created=1700000000, reasoning_format="reasoning_content")
    events: list[ir.Event] = [
        ir.MessageStart("msg_01", "claude-sonnet-4-5"),
        ir.ThinkingDelta("Let me"),
        ir.ThinkingDelta(signature="EqQB"),
        ir.TextDelta("I'll check."),
        ir.ToolCallStart(0, "toolu_01", "get_weather"),
        ir.ToolCallDelta(0, '{"location":'),
        ir.ToolCallDelta(0, '"Paris"}'),
        ir.Stop(ir.StopReason.TOOL_USE),
        ir.UsageUpdate(ir.Usage(input_tokens=50, output_tokens=20, cached_tokens=10)),
    ]
    chunks = [c for event in events for c in encoder.encode(event)] + encoder.finish()
    for item in chunks:
        ChatCompletionChunk.model_validate(item)
    deltas = [c["choices"][0]["delta"] if c["choices"] else None for c in chunks]
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "Let me"},
        {"content": "I'll check."},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "toolu_01",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"location":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
        {},
        None,
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"]["prompt_tokens_details"] == {"cached_tokens": 10}
    assert {c["id"] for c in chunks} == {"msg_01"} and {c["model"] for c in chunks} == {"claude-sonnet-4-5"}


def test_encoder_without_usage_wanted_writes_no_usage_chunk() -> None:
    encoder = ChunkEncoder(id="c", model="m", created=1, include_usage=False)
    encoder.encode(ir.UsageUpdate(ir.Usage(input_tokens=1)))
    assert encoder.finish() == []


def test_a_whole_response_streams_and_accumulates_back() -> None:
    resp = openai_chat.response_to_ir(TOOL_RESPONSE)
    encoder = ChunkEncoder(created=resp.created)
    chunks = [c for event in response_events(resp) for c in encoder.encode(event)] + encoder.finish()
    back = accumulate(decode(chunks))
    back.created = resp.created
    assert back == resp
