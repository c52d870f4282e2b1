"""A fake Anthropic upstream: a real aiohttp server on loopback speaking `/v1/messages`.

Answers plain JSON or SSE with Anthropic's event sequence (`message_start`, `ping`, per block
`content_block_start` / `content_block_delta`… / `content_block_stop`, `message_delta`,
`message_stop`); usage carries cache reads and 5-minute / 1-hour cache writes; a thinking block
with a signature comes first when the request enables thinking (or the script asks), a `tool_use`
block when scripted, JSON text when the request asks for structured output. Requests are recorded
in `received`; failures, a mid-stream `error` event or a cut connection are scripted per test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.support.threaded_server import ThreadedServer

SIGNATURE = "EqQBCkYIBhgCIkD-fake-signature"
THINKING = "Let me think about this."
STRUCTURED_REPLY = '{"answer": 42}'


@dataclass
class AnthropicScript:
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    reply: str = "Hello from Claude."
    input_tokens: int = 20
    output_tokens: int = 9
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    thinking: bool = False
    tool_call: bool = False
    stream_pieces: int = 3
    error_event: bool = False  # an `error` event after the first text delta
    cut: bool = False  # the connection drops after the first text delta


class FakeAnthropic(ThreadedServer):
    def __init__(self) -> None:
        super().__init__()
        self.script = AnthropicScript()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        _raw, body = await self._record(request)
        if request.path != "/v1/messages" or not isinstance(body, dict):
            return _error(404, "not_found_error", f"no route {request.path}")
        if "x-api-key" not in request.headers:
            return _error(401, "authentication_error", "x-api-key header is required")
        if self.script.failures:
            status, error = self.script.failures.pop(0)
            return web.json_response(error, status=status)
        blocks = self._blocks(body)
        if body.get("stream"):
            return await self._stream(request, body, blocks)
        return web.json_response(
            {
                "id": "msg_fake1",
                "type": "message",
                "role": "assistant",
                "model": body.get("model"),
                "content": blocks,
                "stop_reason": "tool_use" if self.script.tool_call else "end_turn",
                "stop_sequence": None,
                "usage": self._usage(self.script.output_tokens),
            }
        )

    def _blocks(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        s = self.script
        blocks: list[dict[str, Any]] = []
        thinking = body.get("thinking")
        if s.thinking or (isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")):
            blocks.append({"type": "thinking", "thinking": THINKING, "signature": SIGNATURE})
        structured = isinstance(body.get("output_config"), dict) and "format" in body["output_config"]
        blocks.append({"type": "text", "text": STRUCTURED_REPLY if structured else s.reply})
        if s.tool_call:
            blocks.append(
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
            )
        return blocks

    def _usage(self, output: int) -> dict[str, Any]:
        s = self.script
        return {
            "input_tokens": s.input_tokens,
            "cache_creation_input_tokens": s.cache_write_5m + s.cache_write_1h,
            "cache_read_input_tokens": s.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": s.cache_write_5m,
                "ephemeral_1h_input_tokens": s.cache_write_1h,
            },
            "output_tokens": output,
            "service_tier": "standard",
        }

    async def _stream(
        self, request: web.Request, body: dict[str, Any], blocks: list[dict[str, Any]]
    ) -> web.StreamResponse:
        s = self.script
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)

        async def send(name: str, data: dict[str, Any]) -> None:
            await response.write(f"event: {name}\n".encode() + b"data: " + orjson.dumps(data) + b"\n\n")

        message = {
            "id": "msg_fake1",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": self._usage(1),
        }
        await send("message_start", {"type": "message_start", "message": message})
        await send("ping", {"type": "ping"})
        for index, block in enumerate(blocks):
            await self._block(send, index, block)
            if block["type"] == "text" and (s.error_event or s.cut):
                if s.cut:
                    raise ConnectionResetError("scripted cut")
                error = {"type": "overloaded_error", "message": "Overloaded"}
                await send("error", {"type": "error", "error": error})
                await response.write_eof()
                return response
        delta = {"stop_reason": "tool_use" if s.tool_call else "end_turn", "stop_sequence": None}
        await send(
            "message_delta",
            {"type": "message_delta", "delta": delta, "usage": {"output_tokens": s.output_tokens}},
        )
        await send("message_stop", {"type": "message_stop"})
        await response.write_eof()
        return response

    async def _block(self, send: Any, index: int, block: dict[str, Any]) -> None:
        kind = block["type"]
        if kind == "thinking":
            await send(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                },
            )
            await _delta(send, index, {"type": "thinking_delta", "thinking": block["thinking"]})
            await _delta(send, index, {"type": "signature_delta", "signature": block["signature"]})
        elif kind == "text":
            start = {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            }
            await send("content_block_start", start)
            for piece in _split(block["text"], self.script.stream_pieces):
                await _delta(send, index, {"type": "text_delta", "text": piece})
                if self.script.error_event or self.script.cut:
                    return
        else:
            start_block = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            await send(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start_block},
            )
            arguments = orjson.dumps(block["input"]).decode()
            await _delta(send, index, {"type": "input_json_delta", "partial_json": ""})
            for piece in _split(arguments, 2):
                await _delta(send, index, {"type": "input_json_delta", "partial_json": piece})
        await send("content_block_stop", {"type": "content_block_stop", "index": index})


async def _delta(send: Any, index: int, delta: dict[str, Any]) -> None:
    await send("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})


def _error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response({"type": "error", "error": {"type": kind, "message": message}}, status=status)


def _split(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // max(n, 1)))
    return [text[i : i + size] for i in range(0, len(text), size)]
