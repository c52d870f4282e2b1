"""The shape every wire format's codec has, and what a codec may know about the caller.

`convert` picks two codecs per request, the caller's (inbound) and the channel's (upstream), so a
new format is one module here and one entry in `relay/codecs.py`: read/write requests and
responses, a stream decoder (SSE frames → IR events) and encoder (IR events → SSE bytes), and the
error body in its own shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from oneapi.relay import ir
from oneapi.relay.client_options import ClientOptions
from oneapi.relay.errors import RelayError
from oneapi.relay.sse import SSEEvent

OPENAI_CHAT = "openai_chat"
ANTHROPIC_MESSAGES = "anthropic_messages"
OPENAI_RESPONSES = "openai_responses"
GEMINI = "gemini"


@dataclass(frozen=True)
class Caller:
    """What an answer written for the caller echoes: the model name it asked for, its request."""

    model: str
    options: ClientOptions = field(default_factory=ClientOptions)
    request: dict[str, Any] = field(default_factory=dict)
    request_id: str = ""


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
    write_response: Callable[[ir.Response, Caller], dict[str, Any]]
    decoder: Callable[[], StreamDecoder]
    encoder: Callable[[Caller], StreamEncoder]
    error_body: Callable[[RelayError, str], dict[str, Any]]  # the error, the request id


def json_object(data: bytes) -> dict[str, Any] | None:
    """An SSE frame's JSON object, or None for anything else (keep-alives, `[DONE]`, garbage)."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None
