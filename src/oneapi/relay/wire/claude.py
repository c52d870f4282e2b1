"""Anthropic Claude Messages as a codec: `message` bodies, named SSE events, Anthropic's errors."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from oneapi.relay import ir
from oneapi.relay.errors import RelayError
from oneapi.relay.protocols import anthropic_messages, anthropic_request, anthropic_stream
from oneapi.relay.sse import SSEEvent, event_frame
from oneapi.relay.wire.base import ANTHROPIC_MESSAGES, Caller, Codec, json_object

ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


class ClaudeDecoder:
    def __init__(self) -> None:
        self._inner = anthropic_stream.EventDecoder()

    def feed(self, event: SSEEvent) -> list[ir.Event]:
        data = json_object(event.data)
        return self._inner.feed(event.event, data) if data is not None else []


class ClaudeEncoder:
    def __init__(self, caller: Caller) -> None:
        self._inner = anthropic_stream.EventEncoder(model=caller.model)

    def encode(self, event: ir.Event) -> bytes:
        if isinstance(event, ir.MessageStart) and not event.id.startswith("msg_"):
            event = replace(event, id=message_id(event.id))
        return frames(self._inner.encode(event))

    def finish(self) -> bytes:
        return frames(self._inner.finish())


def frames(items: list[anthropic_stream.Frame]) -> bytes:
    return b"".join(event_frame(name, orjson.dumps(data)) for name, data in items)


def message_id(upstream_id: str) -> str:
    """Claude's `msg_…` form of another protocol's answer id."""
    return f"msg_{upstream_id}" if upstream_id else ""


def write_response(resp: ir.Response, caller: Caller) -> dict[str, Any]:
    if not resp.id.startswith("msg_"):
        resp.id = message_id(resp.id)
    return anthropic_messages.response_from_ir(resp)


def anthropic_error_type(err: RelayError) -> str:
    """Anthropic's error type: the upstream's own when it is one of Anthropic's, else by status."""
    if err.type in ANTHROPIC_ERROR_TYPES.values() or err.type == "api_error":
        return err.type
    return ANTHROPIC_ERROR_TYPES.get(err.status, "api_error")


def error_body(err: RelayError, request_id: str) -> dict[str, Any]:
    message = f"{err.message} (request id: {request_id})"
    return {"type": "error", "error": {"type": anthropic_error_type(err), "message": message}}


CLAUDE = Codec(
    name=ANTHROPIC_MESSAGES,
    read_request=anthropic_request.request_to_ir,
    write_request=anthropic_request.request_from_ir,
    read_response=anthropic_messages.response_to_ir,
    write_response=write_response,
    decoder=ClaudeDecoder,
    encoder=ClaudeEncoder,
    error_body=error_body,
)
