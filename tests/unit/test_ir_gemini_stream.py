"""Gemini streamGenerateContent?alt=sse streams ⇄ IR events."""

from __future__ import annotations

from typing import Any

from oneapi.relay import ir
from oneapi.relay.ir_stream import ResponseAccumulator, response_events
from oneapi.relay.protocols import gemini
from oneapi.relay.protocols.gemini_stream import ChunkDecoder, ChunkEncoder
from tests.unit.test_ir_gemini import SIGNATURE
from tests.unit.test_ir_gemini_response import THINKING_CALL_RESPONSE


def chunk(parts: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if "finishReason" in fields:
        candidate["finishReason"] = fields.pop("finishReason")
    return {
        "candidates": [candidate],
        "usageMetadata": fields.pop("usage", {"promptTokenCount": 8, "totalTokenCount": 8}),
        "modelVersion": "gemini-2.5-flash",
        "responseId": "ZKFxaL2xA5Kcz7IP",
        **fields,
    }


# A thinking stream: thought summary deltas, then the answer whose first part carries the
# signature, then the final chunk with the finish reason and full usage.
TEXT_STREAM = [
    chunk([{"text": "**Planning** I should", "thought": True}]),
    chunk([{"text": " greet them.", "thought": True}]),
    chunk([{"text": "Hello", "thoughtSignature": SIGNATURE}]),
    chunk([{"text": " there!"}]),
    chunk(
        [{"text": ""}],
        finishReason="STOP",
        usage={
            "promptTokenCount": 8,
            "candidatesTokenCount": 3,
            "thoughtsTokenCount": 40,
            "totalTokenCount": 51,
        },
    ),
]


def decode(chunks: list[dict[str, Any]]) -> list[ir.Event]:
    decoder = ChunkDecoder()
    return [event for item in chunks for event in decoder.feed(item)]


def accumulate(events: list[ir.Event]) -> ir.Response:
    acc = ResponseAccumulator()
    for event in events:
        acc.feed(event)
    return acc.response


def test_text_and_thinking_stream_is_decoded() -> None:
    events = decode(TEXT_STREAM)
    assert events == [
        ir.MessageStart("ZKFxaL2xA5Kcz7IP", "gemini-2.5-flash", ir.Usage(input_tokens=8)),
        ir.ThinkingDelta("**Planning** I should"),
        ir.UsageUpdate(ir.Usage(input_tokens=8)),
        ir.ThinkingDelta(" greet them."),
        ir.ThinkingDelta(signature=SIGNATURE),
        ir.TextDelta("Hello"),
        ir.TextDelta(" there!"),
        ir.Stop(ir.StopReason.END_TURN),
        ir.UsageUpdate(ir.Usage(input_tokens=8, output_tokens=43, reasoning_tokens=40)),
    ]
    resp = accumulate(events)
    assert resp.content == [
        ir.ThinkingPart("**Planning** I should greet them.", SIGNATURE),
        ir.TextPart("Hello there!"),
    ]
    merged = {
        "candidates": [
            {"content": {"parts": [p for c in TEXT_STREAM for p in c["candidates"][0]["content"]["parts"]]}}
        ]
    }
    assert gemini.response_to_ir(merged).content == resp.content


def test_whole_function_calls_become_a_start_and_one_delta() -> None:
    stream = [
        chunk(
            [
                {
                    "functionCall": {"name": "get_weather", "args": {"location": "Paris"}},
                    "thoughtSignature": SIGNATURE,
                },
                {"functionCall": {"id": "fc-2", "name": "get_time", "args": {}}},
            ]
        ),
        chunk(
            [],
            finishReason="STOP",
            usage={"promptTokenCount": 50, "candidatesTokenCount": 20, "totalTokenCount": 70},
        ),
    ]
    events = decode(stream)
    start = events[1]
    assert isinstance(start, ir.ToolCallStart) and start.id.startswith("call_")
    assert (start.index, start.name, start.signature) == (0, "get_weather", SIGNATURE)
    assert events[2:] == [
        ir.ToolCallDelta(0, '{"location":"Paris"}'),
        ir.ToolCallStart(1, "fc-2", "get_time"),
        ir.ToolCallDelta(1, "{}"),
        ir.UsageUpdate(ir.Usage(input_tokens=8)),
        ir.Stop(ir.StopReason.TOOL_USE),
        ir.UsageUpdate(ir.Usage(input_tokens=50, output_tokens=20)),
    ]
    resp = accumulate(events)
    assert resp.content[0] == ir.ToolCallPart(
        start.id, "get_weather", '{"location":"Paris"}', signature=SIGNATURE
    )


def test_error_chunk_and_blocked_prompt() -> None:
    error = {"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}
    assert decode([error]) == [ir.StreamError("Resource has been exhausted", "RESOURCE_EXHAUSTED", "429")]
    blocked = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 5},
    }
    assert decode([blocked])[1:] == [
        ir.Stop(ir.StopReason.CONTENT_FILTER),
        ir.UsageUpdate(ir.Usage(input_tokens=5)),
    ]


def test_encoder_writes_chunks_the_decoder_reads_back() -> None:
    resp = gemini.response_to_ir(THINKING_CALL_RESPONSE)
    resp.content.insert(1, ir.TextPart("Checking."))
    call, usage = resp.content[2], resp.usage
    assert isinstance(call, ir.ToolCallPart) and usage is not None
    encoder = ChunkEncoder()
    chunks = [c for e in response_events(resp) for c in encoder.encode(e)] + encoder.finish()
    assert [c["candidates"][0]["content"]["parts"] for c in chunks] == [
        [{"text": "**Checking the weather**\n\nThe user asks about Paris.", "thought": True}],
        [{"text": "Checking."}],
        [
            {
                "functionCall": {
                    "id": call.id,
                    "name": "get_weather",
                    "args": {"location": "Paris, France"},
                },
                "thoughtSignature": SIGNATURE,
            }
        ],
        [],
    ]
    last = chunks[-1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["usageMetadata"] == gemini.usage_from_ir(usage)
    assert all(c["responseId"] == "mK1xaPyUJbqPm9MPp9T4iQQ" for c in chunks)
    assert accumulate(decode(chunks)) == resp


def test_encoder_holds_interleaved_call_fragments_until_complete() -> None:
    encoder = ChunkEncoder(id="r1", model="gemini-2.5-pro")
    events: list[ir.Event] = [
        ir.ToolCallStart(0, "call_a", "f"),
        ir.ToolCallDelta(0, '{"x":'),
        ir.ToolCallStart(1, "call_b", "g"),
        ir.ToolCallDelta(1, '{"y":2}'),
        ir.ToolCallDelta(0, "1}"),
        ir.Stop(ir.StopReason.TOOL_USE),
        ir.StreamError("upstream went away"),
    ]
    chunks = [c for e in events for c in encoder.encode(e)]
    assert chunks[0]["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"id": "call_a", "name": "f", "args": {"x": 1}}},
        {"functionCall": {"id": "call_b", "name": "g", "args": {"y": 2}}},
    ]
    assert chunks[1] == {"error": {"code": 500, "message": "upstream went away", "status": "INTERNAL"}}
    assert encoder.encode(ir.TextDelta("late")) == [] and encoder.finish() == []
