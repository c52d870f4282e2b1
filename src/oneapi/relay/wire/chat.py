"""OpenAI Chat Completions as a codec: `chat.completion` bodies and chunk streams ending in [DONE]."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from oneapi.relay import ir
from oneapi.relay.errors import RelayError
from oneapi.relay.protocols import openai_chat, openai_chat_request, openai_chat_stream
from oneapi.relay.sse import DONE_FRAME, SSEEvent, data_frame
from oneapi.relay.wire.base import OPENAI_CHAT, Caller, Codec, json_object


class ChatDecoder:
    def __init__(self) -> None:
        self._inner = openai_chat_stream.ChunkDecoder()

    def feed(self, event: SSEEvent) -> list[ir.Event]:
        if event.data == b"[DONE]":
            return []
        chunk = json_object(event.data)
        return self._inner.feed(chunk) if chunk is not None else []


class ChatEncoder:
    def __init__(self, caller: Caller) -> None:
        self._inner = openai_chat_stream.ChunkEncoder(
            model=caller.model, reasoning_format=caller.options.reasoning_format
        )

    def encode(self, event: ir.Event) -> bytes:
        if isinstance(event, ir.MessageStart) and not event.id.startswith("chatcmpl"):
            event = replace(event, id=f"chatcmpl-{event.id}")  # as non-stream answers are named
        return b"".join(data_frame(orjson.dumps(chunk)) for chunk in self._inner.encode(event))

    def finish(self) -> bytes:
        tail = b"".join(data_frame(orjson.dumps(chunk)) for chunk in self._inner.finish())
        return tail + DONE_FRAME


def write_response(resp: ir.Response, caller: Caller) -> dict[str, Any]:
    if not resp.id.startswith("chatcmpl"):
        resp.id = f"chatcmpl-{resp.id}"
    return openai_chat.response_from_ir(resp, reasoning_format=caller.options.reasoning_format)


def error_body(err: RelayError, request_id: str) -> dict[str, Any]:
    return err.body(request_id)


CHAT = Codec(
    name=OPENAI_CHAT,
    read_request=openai_chat_request.request_to_ir,
    write_request=openai_chat_request.request_from_ir,
    read_response=openai_chat.response_to_ir,
    write_response=write_response,
    decoder=ChatDecoder,
    encoder=ChatEncoder,
    error_body=error_body,
)
