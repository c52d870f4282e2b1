"""OpenAI Responses as a codec: response objects echoing the request, typed SSE events.

Answers written for a Responses caller from another protocol's answer carry the id
`resp_<request id>` (so a log line and a response id name the same request) and echo the
caller's settings (`instructions`, `tools`, `text`, …) as OpenAI does. Streams are named events
`response.created … response.completed`, without a `[DONE]` line (OpenAI sends none).
"""

from __future__ import annotations

from typing import Any

import orjson

from oneapi.relay import ir
from oneapi.relay.errors import RelayError
from oneapi.relay.protocols import openai_responses, openai_responses_request, openai_responses_stream
from oneapi.relay.sse import SSEEvent, event_frame
from oneapi.relay.wire.base import OPENAI_RESPONSES, Caller, Codec, json_object


def response_id(caller: Caller) -> str:
    return f"resp_{caller.request_id}" if caller.request_id else ""


class ResponsesDecoder:
    def __init__(self) -> None:
        self._inner = openai_responses_stream.EventDecoder()

    def feed(self, event: SSEEvent) -> list[ir.Event]:
        data = json_object(event.data)
        return self._inner.feed(data) if data is not None else []


class ResponsesEncoder:
    def __init__(self, caller: Caller) -> None:
        self._inner = openai_responses_stream.EventEncoder(
            id=response_id(caller), model=caller.model, request=caller.request
        )

    def encode(self, event: ir.Event) -> bytes:
        return frames(self._inner.encode(event))

    def finish(self) -> bytes:
        return frames(self._inner.finish())


def frames(items: list[dict[str, Any]]) -> bytes:
    return b"".join(event_frame(str(item.get("type", "")), orjson.dumps(item)) for item in items)


def write_response(resp: ir.Response, caller: Caller) -> dict[str, Any]:
    resp.id = response_id(caller) or resp.id
    return openai_responses.response_from_ir(resp, request=caller.request)


def error_body(err: RelayError, request_id: str) -> dict[str, Any]:
    return err.body(request_id)


RESPONSES = Codec(
    name=OPENAI_RESPONSES,
    read_request=openai_responses_request.request_to_ir,
    write_request=openai_responses_request.request_from_ir,
    read_response=openai_responses.response_to_ir,
    write_response=write_response,
    decoder=ResponsesDecoder,
    encoder=ResponsesEncoder,
    error_body=error_body,
)
