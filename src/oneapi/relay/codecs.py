"""One `Codec` per wire format: the protocol module's converters behind a single shape.

`convert` picks two codecs per request, the caller's (inbound) and the channel's (upstream), so a
new format is one entry in `CODECS`: read/write requests and responses, a stream decoder (SSE
frames → IR events) and encoder (IR events → SSE bytes), and the error body in its own shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from oneapi.relay import ir
from oneapi.relay.client_options import ClientOptions
from oneapi.relay.errors import RelayError
from oneapi.relay.protocols import (
    anthropic_messages,
    anthropic_request,
    anthropic_stream,
    openai_chat,
    openai_chat_request,
    openai_chat_stream,
)
from oneapi.relay.sse import DONE_FRAME, SSEEvent, data_frame, event_frame

OPENAI_CHAT = "openai_chat"
ANTHROPIC_MESSAGES = "anthropic_messages"


class StreamDecoder(Protocol):
    def feed(self, event: SSEEvent) -> list[ir.Event]: ...


class StreamEncoder(Protocol):
    def encode(self, event: ir.Event) -> bytes: ...

    def finish(self) -> bytes: ...


@dataclass(frozen=True)
class Codec:
    name: str
    read_request: Callable[[dict[str, Any]], ir.Request]
    write_request: Callable[[ir.Request], dict[str, Any]]
    read_response: Callable[[dict[str, Any]], ir.Response]
    write_response: Callable[[ir.Response, ClientOptions], dict[str, Any]]
    decoder: Callable[[], StreamDecoder]
    encoder: Callable[[ClientOptions, str], StreamEncoder]  # options, the model name the caller sees
    error_body: Callable[[RelayError, str], dict[str, Any]]


# ---- OpenAI Chat -----------------------------------------------------------------------------


class _ChatDecoder:
    def __init__(self) -> None:
        self._inner = openai_chat_stream.ChunkDecoder()

    def feed(self, event: SSEEvent) -> list[ir.Event]:
        if event.data == b"[DONE]":
            return []
        chunk = _json(event.data)
        return self._inner.feed(chunk) if chunk is not None else []


class _ChatEncoder:
    def __init__(self, options: ClientOptions, model: str) -> None:
        self._inner = openai_chat_stream.ChunkEncoder(model=model, reasoning_format=options.reasoning_format)

    def encode(self, event: ir.Event) -> bytes:
        return b"".join(data_frame(orjson.dumps(chunk)) for chunk in self._inner.encode(event))

    def finish(self) -> bytes:
        tail = b"".join(data_frame(orjson.dumps(chunk)) for chunk in self._inner.finish())
        return tail + DONE_FRAME


def _chat_response(resp: ir.Response, options: ClientOptions) -> dict[str, Any]:
    return openai_chat.response_from_ir(resp, reasoning_format=options.reasoning_format)


# ---- Anthropic Messages ----------------------------------------------------------------------


class _ClaudeDecoder:
    def __init__(self) -> None:
        self._inner = anthropic_stream.EventDecoder()

    def feed(self, event: SSEEvent) -> list[ir.Event]:
        data = _json(event.data)
        return self._inner.feed(event.event, data) if data is not None else []


class _ClaudeEncoder:
    def __init__(self, options: ClientOptions, model: str) -> None:
        self._inner = anthropic_stream.EventEncoder(model=model)

    def encode(self, event: ir.Event) -> bytes:
        return _frames(self._inner.encode(event))

    def finish(self) -> bytes:
        return _frames(self._inner.finish())


def _frames(frames: list[anthropic_stream.Frame]) -> bytes:
    return b"".join(event_frame(name, orjson.dumps(data)) for name, data in frames)


def _claude_response(resp: ir.Response, options: ClientOptions) -> dict[str, Any]:
    return anthropic_messages.response_from_ir(resp)


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


def anthropic_error_type(err: RelayError) -> str:
    """Anthropic's error type: the upstream's own when it is one of Anthropic's, else by status."""
    if err.type in ANTHROPIC_ERROR_TYPES.values() or err.type == "api_error":
        return err.type
    return ANTHROPIC_ERROR_TYPES.get(err.status, "api_error")


def _claude_error(err: RelayError, request_id: str) -> dict[str, Any]:
    message = f"{err.message} (request id: {request_id})"
    return {"type": "error", "error": {"type": anthropic_error_type(err), "message": message}}


def _json(data: bytes) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


CODECS: dict[str, Codec] = {
    OPENAI_CHAT: Codec(
        name=OPENAI_CHAT,
        read_request=openai_chat_request.request_to_ir,
        write_request=openai_chat_request.request_from_ir,
        read_response=openai_chat.response_to_ir,
        write_response=_chat_response,
        decoder=_ChatDecoder,
        encoder=_ChatEncoder,
        error_body=RelayError.body,
    ),
    ANTHROPIC_MESSAGES: Codec(
        name=ANTHROPIC_MESSAGES,
        read_request=anthropic_request.request_to_ir,
        write_request=anthropic_request.request_from_ir,
        read_response=anthropic_messages.response_to_ir,
        write_response=_claude_response,
        decoder=_ClaudeDecoder,
        encoder=_ClaudeEncoder,
        error_body=_claude_error,
    ),
}


def codec(name: str) -> Codec:
    """The codec of a wire format; OpenAI Chat for a format not (yet) converted."""
    return CODECS.get(name, CODECS[OPENAI_CHAT])
