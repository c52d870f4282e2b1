"""Relay an upstream SSE stream to the caller event by event, converting between protocols.

Each upstream chunk is split into frames, decoded into IR events and, when the caller speaks
another protocol, encoded at once into the caller's frames: nothing waits for the end of the
stream. When both sides speak the same protocol the upstream bytes go out unchanged (only the
model name rewritten when it was mapped) and the events are decoded on the side for usage, after
the bytes are on their way when nothing is rewritten. A cut
stream ends with an error in the caller's protocol; the tokens seen so far are billed either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson

from oneapi.relay import ir
from oneapi.relay.codecs import ANTHROPIC_MESSAGES, Caller, Codec, StreamEncoder
from oneapi.relay.errors import RelayError
from oneapi.relay.ir_stream import ResponseAccumulator
from oneapi.relay.pipeline import Job
from oneapi.relay.sse import SSEDecoder, SSEEvent, data_frame, event_frame
from oneapi.relay.streaming import RelayStreamingResponse
from oneapi.relay.upstream import UpstreamResponse
from oneapi.relay.wire.claude import anthropic_error_type

Settle = Callable[[ir.Response], None]  # the answer as folded from the stream
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class _Relay:
    """The per-stream state: upstream frames in, caller bytes out, the answer folded on the side."""

    def __init__(
        self, job: Job, caller: Caller, upstream: Codec, inbound: Codec, rename: bool, passthrough: bool
    ) -> None:
        self.job = job
        self.caller = caller
        self.inbound = inbound
        self.decoder = upstream.decoder()
        self.encoder: StreamEncoder | None = None if passthrough else inbound.encoder(caller)
        self.rename = rename
        self.answer = ResponseAccumulator()
        self.failed = False  # the upstream sent an error event: the caller's stream ends with it

    def frames(self, events: list[SSEEvent], chunk: bytes) -> bytes:
        """Caller bytes for `events`; `chunk` is their exact upstream bytes, sent as is when it can."""
        out: list[bytes] = []
        for event in events:
            for item in self.decoder.feed(event):
                self.failed = self.failed or isinstance(item, ir.StreamError)
                self.answer.feed(item)
                if self.encoder is not None:
                    out.append(self.encoder.encode(item))
            if self.encoder is None and self.rename:
                out.append(_renamed(event, self.job.model))
        if self.encoder is None and not self.rename:
            return chunk
        return b"".join(out)

    def finish(self) -> bytes:
        return self.encoder.finish() if self.encoder is not None and not self.failed else b""

    def error(self, err: RelayError) -> bytes:
        message = f"{err.message} (request id: {self.job.request_id})"
        encoder = self.encoder or self.inbound.encoder(self.caller)
        kind = anthropic_error_type(err) if self.inbound.name == ANTHROPIC_MESSAGES else err.type
        return encoder.encode(ir.StreamError(message, type=kind, code=err.code))


def relay_stream(
    job: Job,
    caller: Caller,
    resp: UpstreamResponse,
    upstream: Codec,
    inbound: Codec,
    settle: Settle,
    rename: bool,
    passthrough: bool,
) -> RelayStreamingResponse:
    """`passthrough`: the caller speaks the upstream's protocol and its bytes go out as they come."""
    state = _Relay(job, caller, upstream, inbound, rename, passthrough)
    sse = SSEDecoder()
    as_is = passthrough and not rename  # upstream bytes go out unchanged: forward, then read

    async def body() -> AsyncIterator[bytes]:
        pending = b""  # a chunk forwarded but not yet read for usage
        try:
            async for chunk in resp.content.iter_any():
                if as_is:
                    pending = chunk
                    yield chunk
                    pending = b""
                    state.frames(sse.feed(chunk), chunk)
                    continue
                out = state.frames(sse.feed(chunk), chunk)
                if out:
                    yield out
            tail = state.frames(sse.finish(), b"")  # a last frame's bytes went out with its chunk
            closing = state.finish()
            if tail or closing:
                yield tail + closing
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            err = RelayError(
                502, f"upstream stream broke: {exc}", "stream_interrupted", type="upstream_error"
            )
            yield state.error(err)
        finally:
            resp.close()
            if pending:  # the client left right after it: what it was sent is billed all the same
                with contextlib.suppress(ValueError):
                    state.frames(sse.feed(pending), pending)
            settle(state.answer.response)

    return RelayStreamingResponse(body(), media_type="text/event-stream", headers=STREAM_HEADERS)


def _renamed(event: SSEEvent, model: str) -> bytes:
    """A frame with the caller's model name in place of the mapped one (top level or `message`)."""
    try:
        obj = orjson.loads(event.data)
    except orjson.JSONDecodeError:
        return event.raw
    if not isinstance(obj, dict):
        return event.raw
    message = obj.get("message")
    target: dict[str, Any] = message if isinstance(message, dict) else obj
    if "model" not in target:
        return event.raw
    target["model"] = model
    payload = orjson.dumps(obj)
    return event_frame(event.event, payload) if event.event else data_frame(payload)
