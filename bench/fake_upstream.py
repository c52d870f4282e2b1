"""An OpenAI chat-completions fake fast enough never to be the bottleneck of the benchmark.

Raw asyncio protocol + httptools on uvloop: no framework between the socket and the answer.
Modes are chosen by path segments before `/v1`, so one process serves every scenario and any
gateway can reach a mode through a channel's base URL:

    /v1/chat/completions                          answer at once
    /delay/50/v1/chat/completions                 wait 50 ms before the first byte
    /pace/25/v1/chat/completions                  streams: 25 ms between chunks
    /via/ours/v1/chat/completions                 a tag: counted separately in GET /stats

Non-stream answers are a fixed JSON body with usage; streams are 20 one-token chunks, a final
usage chunk and `data: [DONE]`. `GET /stats` returns request counts per prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from collections import Counter
from typing import cast

import httptools
import orjson
import uvloop

CHUNKS = 20
PROMPT_TOKENS = 20
COMPLETION_TOKENS = CHUNKS
USAGE = {
    "prompt_tokens": PROMPT_TOKENS,
    "completion_tokens": COMPLETION_TOKENS,
    "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
}
COUNTS: Counter[str] = Counter()


def _completion(model: str) -> bytes:
    return orjson.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": " tok" * CHUNKS},
                    "finish_reason": "stop",
                }
            ],
            "usage": USAGE,
        }
    )


def _chunk(model: str, delta: dict[str, str], finish: str | None, usage: object = None) -> bytes:
    choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]
    body: dict[str, object] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "choices": choices,
    }
    if usage:
        body["usage"] = usage
    frame = b"data: " + orjson.dumps(body) + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(frame), frame)


def _stream_frames(model: str) -> list[bytes]:
    """The HTTP chunks of one stream, already framed for chunked transfer encoding."""
    frames = [_chunk(model, {"role": "assistant", "content": " tok"}, None)]
    frames += [_chunk(model, {"content": " tok"}, None) for _ in range(CHUNKS - 2)]
    frames.append(_chunk(model, {"content": " tok"}, "stop"))
    frames.append(_chunk(model, {}, None, usage=USAGE))
    done = b"data: [DONE]\n\n"
    frames.append(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
    return frames


_JSON_CACHE: dict[str, bytes] = {}
_STREAM_CACHE: dict[str, list[bytes]] = {}
_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def _json_response(status: int, body: bytes) -> bytes:
    reason = b"OK" if status == 200 else b"Not Found"
    head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    return head % (status, reason, len(body)) + body


def _answer_of(model: str) -> bytes:
    cached = _JSON_CACHE.get(model)
    if cached is None:
        cached = _JSON_CACHE[model] = _json_response(200, _completion(model))
    return cached


def _frames_of(model: str) -> list[bytes]:
    cached = _STREAM_CACHE.get(model)
    if cached is None:
        cached = _STREAM_CACHE[model] = _stream_frames(model)
    return cached


def _modes(path: str) -> tuple[str, float, float]:
    """(prefix, first-byte delay s, stream pace s) from `/delay/50/pace/25/via/x/v1/...`."""
    prefix, _, _ = path.partition("/v1/")
    parts = prefix.strip("/").split("/") if prefix.strip("/") else []
    delay = pace = 0.0
    for name, value in zip(parts[::2], parts[1::2], strict=False):
        if name == "delay":
            delay = float(value) / 1000
        elif name == "pace":
            pace = float(value) / 1000
    return prefix, delay, pace


class Upstream(asyncio.Protocol):
    """One keep-alive connection; requests on it are answered in order (no pipelining needed)."""

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's class is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        path = self.url.decode("latin-1").partition("?")[0]
        if path == "/stats":
            self.transport.write(_json_response(200, orjson.dumps(COUNTS)))
            return
        if not path.endswith("/chat/completions"):
            self.transport.write(_json_response(404, b'{"error":{"message":"not found"}}'))
            return
        prefix, delay, pace = _modes(path)
        COUNTS[prefix] += 1
        try:
            request = orjson.loads(b"".join(self.body))
        except orjson.JSONDecodeError:
            request = {}
        model = str(request.get("model") or "gpt-4o-mini")
        if request.get("stream"):
            if delay or pace:
                asyncio.get_running_loop().create_task(self._paced(model, delay, pace))
            else:
                self.transport.writelines([_STREAM_HEAD, *_frames_of(model)])
        elif delay:
            asyncio.get_running_loop().call_later(delay, self._write, _answer_of(model))
        else:
            self.transport.write(_answer_of(model))

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def _paced(self, model: str, delay: float, pace: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        self._write(_STREAM_HEAD)
        for frame in _frames_of(model):
            if self.transport is None or self.transport.is_closing():
                return
            self._write(frame)
            if pace:
                await asyncio.sleep(pace)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Upstream, host, port, backlog=4096, reuse_address=True)
    print(f"fake upstream listening on http://{host}:{port} (pid {os.getpid()})", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
