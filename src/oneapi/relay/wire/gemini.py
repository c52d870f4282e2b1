"""Gemini `generateContent` as a codec: GenerateContentResponse bodies and `alt=sse` chunks.

The model and streaming live in the URL (the provider builds it); safety settings and the
system-instruction fallback are the provider's body adjustments.
"""

from __future__ import annotations

from typing import Any

import orjson

from oneapi.relay import ir
from oneapi.relay.errors import RelayError
from oneapi.relay.protocols import gemini, gemini_request, gemini_stream
from oneapi.relay.sse import SSEEvent, data_frame
from oneapi.relay.wire.base import GEMINI, Caller, Codec, json_object

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class GeminiDecoder:
    def __init__(self) -> None:
        self._inner = gemini_stream.ChunkDecoder()

    def feed(self, event: SSEEvent) -> list[ir.Event]:
        chunk = json_object(event.data)
        return self._inner.feed(chunk) if chunk is not None else []


class GeminiEncoder:
    def __init__(self, caller: Caller) -> None:
        self._inner = gemini_stream.ChunkEncoder(id=caller.request_id, model=caller.model)

    def encode(self, event: ir.Event) -> bytes:
        return b"".join(data_frame(orjson.dumps(chunk)) for chunk in self._inner.encode(event))

    def finish(self) -> bytes:
        return b"".join(data_frame(orjson.dumps(chunk)) for chunk in self._inner.finish())


def read_request(body: dict[str, Any]) -> ir.Request:
    return gemini_request.request_to_ir(body)


def write_request(req: ir.Request) -> dict[str, Any]:
    return gemini_request.request_from_ir(req)


def write_response(resp: ir.Response, caller: Caller) -> dict[str, Any]:
    return gemini.response_from_ir(resp)


def error_body(err: RelayError, request_id: str) -> dict[str, Any]:
    message = f"{err.message} (request id: {request_id})"
    return {
        "error": {"code": err.status, "message": message, "status": STATUS_NAMES.get(err.status, "UNKNOWN")}
    }


GEMINI_CODEC = Codec(
    name=GEMINI,
    read_request=read_request,
    write_request=write_request,
    read_response=gemini.response_to_ir,
    write_response=write_response,
    decoder=GeminiDecoder,
    encoder=GeminiEncoder,
    error_body=error_body,
)
