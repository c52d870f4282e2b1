"""OpenAI Responses SSE streams ⇄ IR events, checked against the official SDK's event types and
its own stream accumulator."""

from __future__ import annotations

from typing import Any

from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from oneapi.relay import ir
from oneapi.relay.ir_stream import ResponseAccumulator, response_events
from oneapi.relay.protocols import openai_responses
from oneapi.relay.protocols.openai_responses_stream import EventDecoder, EventEncoder
from tests.unit.test_ir_responses import ENCRYPTED, WEATHER_TOOL
from tests.unit.test_ir_responses_object import RESPONSE

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
RESP_ID = "resp_68af4030592c81938ec0a5fbab4a3e9f05438e46b5f69a3b"


def shell(status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**RESPONSE, "id": RESP_ID, "status": status, "output": output, "usage": usage}


REASONING = {"id": "rs_1", "type": "reasoning", "summary": []}
CALL = {
    "id": "fc_1",
    "type": "function_call",
    "status": "in_progress",
    "arguments": "",
    "call_id": "call_9",
    "name": "get_weather",
}
MESSAGE = {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
TEXT_PART = {"type": "output_text", "text": "", "annotations": []}
USAGE = {
    "input_tokens": 91,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": 213,
    "output_tokens_details": {"reasoning_tokens": 128},
    "total_tokens": 304,
}
DONE_REASONING = {
    **REASONING,
    "summary": [{"type": "summary_text", "text": "**Plan**\n\nCall it."}],
    "encrypted_content": ENCRYPTED,
}
DONE_CALL = {**CALL, "status": "completed", "arguments": '{"location":"Paris"}'}
DONE_MESSAGE = {**MESSAGE, "status": "completed", "content": [{**TEXT_PART, "text": "On it."}]}

AT_RS = {"item_id": "rs_1", "output_index": 0}
AT_MSG = {"item_id": "msg_1", "output_index": 1}
AT_FC = {"item_id": "fc_1", "output_index": 2}

# What OpenAI streams for a reasoning model that thinks, answers briefly and calls a tool.
NATIVE_STREAM: list[dict[str, Any]] = [
    {"type": "response.created", "response": shell("in_progress", [])},
    {"type": "response.in_progress", "response": shell("in_progress", [])},
    {"type": "response.output_item.added", "output_index": 0, "item": REASONING},
    {"type": "response.reasoning_summary_part.added", **AT_RS, "summary_index": 0,
     "part": {"type": "summary_text", "text": ""}},
    {"type": "response.reasoning_summary_text.delta", **AT_RS, "summary_index": 0, "delta": "**Plan**"},
    {"type": "response.reasoning_summary_part.added", **AT_RS, "summary_index": 1,
     "part": {"type": "summary_text", "text": ""}},
    {"type": "response.reasoning_summary_text.delta", **AT_RS, "summary_index": 1, "delta": "Call it."},
    {"type": "response.output_item.done", "output_index": 0, "item": DONE_REASONING},
    {"type": "response.output_item.added", "output_index": 1, "item": MESSAGE},
    {"type": "response.content_part.added", **AT_MSG, "content_index": 0, "part": TEXT_PART},
    {"type": "response.output_text.delta", **AT_MSG, "content_index": 0,
     "delta": "On it.", "logprobs": []},
    {"type": "response.output_text.done", **AT_MSG, "content_index": 0,
     "text": "On it.", "logprobs": []},
    {"type": "response.output_item.done", "output_index": 1, "item": DONE_MESSAGE},
    {"type": "response.output_item.added", "output_index": 2, "item": CALL},
    {"type": "response.function_call_arguments.delta", **AT_FC, "delta": '{"location":'},
    {"type": "response.function_call_arguments.delta", **AT_FC, "delta": '"Paris"}'},
    {"type": "response.function_call_arguments.done", **AT_FC, "arguments": '{"location":"Paris"}'},
    {"type": "response.output_item.done", "output_index": 2, "item": DONE_CALL},
    {"type": "response.completed",
     "response": shell("completed", [DONE_REASONING, DONE_MESSAGE, DONE_CALL], USAGE)},
]  # fmt: skip
for number, payload in enumerate(NATIVE_STREAM):
    payload["sequence_number"] = number


def decode(payloads: list[dict[str, Any]]) -> list[ir.Event]:
    decoder = EventDecoder()
    return [event for payload in payloads for event in decoder.feed(payload)]


def accumulate(events: list[ir.Event]) -> ir.Response:
    acc = ResponseAccumulator()
    for event in events:
        acc.feed(event)
    return acc.response


def sdk_final(payloads: list[dict[str, Any]]) -> Any:
    """Feeds the payloads to the SDK's own stream accumulator and returns its final response."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    for payload in payloads:
        state.handle_event(EVENTS.validate_python(payload))
    return state._completed_response


def test_native_stream_is_decoded() -> None:
    assert sdk_final(NATIVE_STREAM) is not None
    events = decode(NATIVE_STREAM)
    assert events == [
        ir.MessageStart(RESP_ID, "o4-mini-2025-04-16"),
        ir.ThinkingDelta("**Plan**"),
        ir.ThinkingDelta("\n\n"),
        ir.ThinkingDelta("Call it."),
        ir.ThinkingDelta(signature=ENCRYPTED),
        ir.TextDelta("On it."),
        ir.ToolCallStart(0, "call_9", "get_weather"),
        ir.ToolCallDelta(0, '{"location":'),
        ir.ToolCallDelta(0, '"Paris"}'),
        ir.Stop(ir.StopReason.TOOL_USE),
        ir.UsageUpdate(ir.Usage(input_tokens=91, output_tokens=213, reasoning_tokens=128)),
    ]
    final = NATIVE_STREAM[-1]["response"]
    expected = openai_responses.response_to_ir(final)
    assert accumulate(events).content == expected.content


def test_arguments_only_in_done_events_and_failures() -> None:
    stream: list[dict[str, Any]] = [
        {"type": "response.created", "response": shell("in_progress", [])},
        {"type": "response.output_item.added", "output_index": 0, "item": CALL},
        {"type": "response.output_item.done", "output_index": 0, "item": DONE_CALL},
        {"type": "response.incomplete", "response": {**shell("incomplete", [DONE_CALL], USAGE),
                                                     "incomplete_details": {"reason": "max_output_tokens"}}},
    ]  # fmt: skip
    events = decode(stream)
    assert events[1:4] == [
        ir.ToolCallStart(0, "call_9", "get_weather"),
        ir.ToolCallDelta(0, '{"location":"Paris"}'),
        ir.Stop(ir.StopReason.MAX_TOKENS),
    ]
    failed = {
        "type": "response.failed",
        "response": {
            **shell("failed", []),
            "error": {"code": "server_error", "message": "The model crashed"},
        },
    }
    assert decode([failed])[1:] == [ir.StreamError("The model crashed", code="server_error")]
    error = {"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": None}
    assert decode([error]) == [ir.StreamError("Slow down", code="rate_limit_exceeded")]


def encode(events: list[ir.Event], **options: Any) -> list[dict[str, Any]]:
    encoder = EventEncoder(**options)
    return [payload for event in events for payload in encoder.encode(event)] + encoder.finish()


def test_encoder_writes_the_exact_responses_sequence() -> None:
    resp = ir.Response(
        id="chatcmpl-1",
        model="claude-sonnet-4-5",
        content=[
            ir.ThinkingPart("Plan.", "sig-1"),
            ir.TextPart("Checking."),
            ir.ToolCallPart("toolu_1", "get_weather", '{"location":"Paris"}'),
        ],
        stop_reason=ir.StopReason.TOOL_USE,
        usage=ir.Usage(input_tokens=50, output_tokens=30, cached_tokens=10, reasoning_tokens=12),
    )
    request = {"model": "claude-sonnet-4-5", "input": "Weather?", "tools": [WEATHER_TOOL], "stream": True}
    payloads = encode(response_events(resp), created=1700000000, request=request)
    assert [p["type"] for p in payloads] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    for payload in payloads:
        EVENTS.validate_python(payload)
    completed = payloads[-1]["response"]
    Response.model_validate(completed)
    assert completed["id"].startswith("resp_") and completed["id"] == payloads[0]["response"]["id"]
    assert completed["usage"]["input_tokens_details"]["cached_tokens"] == 10
    assert completed["tools"] == [WEATHER_TOOL]
    assert payloads[0]["response"]["usage"] is None and payloads[0]["response"]["output"] == []
    final = sdk_final(payloads)
    assert final.output_text == "Checking."
    assert final.output[2].arguments == '{"location":"Paris"}' and final.output[2].call_id == "toolu_1"
    assert final.output[0].encrypted_content == "sig-1"
    back = accumulate(decode(payloads))
    assert back.content == resp.content and back.usage == resp.usage and back.stop_reason is resp.stop_reason


def test_max_tokens_ends_with_response_incomplete() -> None:
    events: list[ir.Event] = [
        ir.MessageStart("resp_x", "gpt-4o"),
        ir.TextDelta("Once upon"),
        ir.TextDelta(" a time"),
        ir.Stop(ir.StopReason.MAX_TOKENS),
        ir.UsageUpdate(ir.Usage(input_tokens=5, output_tokens=4)),
    ]
    payloads = encode(events)
    for payload in payloads:
        EVENTS.validate_python(payload)
    last = payloads[-1]
    assert last["type"] == "response.incomplete" and last["response"]["id"] == "resp_x"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert last["response"]["output"][0]["content"][0]["text"] == "Once upon a time"
    assert decode(payloads)[-2:] == [ir.Stop(ir.StopReason.MAX_TOKENS), ir.UsageUpdate(ir.Usage(5, 4))]


def test_error_mid_stream_gives_error_then_response_failed() -> None:
    events: list[ir.Event] = [
        ir.TextDelta("Hal"),
        ir.StreamError("upstream cut the stream", code="stream_cut"),
    ]
    encoder = EventEncoder(model="gpt-4o")
    payloads = [p for e in events for p in encoder.encode(e)] + encoder.finish()
    assert [p["type"] for p in payloads][-4:] == [
        "response.content_part.done",
        "response.output_item.done",
        "error",
        "response.failed",
    ]
    for payload in payloads:
        EVENTS.validate_python(payload)
    failed = payloads[-1]["response"]
    assert failed["status"] == "failed" and failed["error"] == {
        "code": "server_error",
        "message": "upstream cut the stream",
    }
    assert payloads[-2]["code"] == "stream_cut"
    assert encoder.encode(ir.TextDelta("more")) == []


def test_signature_only_reasoning_and_late_argument_fragments() -> None:
    events: list[ir.Event] = [
        ir.ThinkingDelta(signature="enc"),
        ir.ToolCallStart(0, "call_a", "f"),
        ir.ToolCallDelta(0, '{"x":'),
        ir.ToolCallStart(1, "call_b", "g"),
        ir.ToolCallDelta(0, "1}"),
        ir.ToolCallDelta(1, "{}"),
    ]
    payloads = encode(events)
    for payload in payloads:
        EVENTS.validate_python(payload)
    output = payloads[-1]["response"]["output"]
    assert output[0] == {
        "type": "reasoning",
        "id": output[0]["id"],
        "summary": [],
        "encrypted_content": "enc",
    }
    assert [(o["call_id"], o["arguments"]) for o in output[1:]] == [("call_a", '{"x":1}'), ("call_b", "{}")]
    assert accumulate(decode(payloads)).content == [
        ir.ThinkingPart("", "enc"),
        ir.ToolCallPart("call_a", "f", '{"x":1}'),
        ir.ToolCallPart("call_b", "g", "{}"),
    ]
