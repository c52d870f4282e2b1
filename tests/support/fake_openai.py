"""A fake OpenAI upstream: a real aiohttp server on loopback that records what it receives.

Speaks the wire format of chat completions (plain and SSE with a final usage chunk), completions,
embeddings and moderations. Behaviour is scripted per test through `FakeOpenAI.script`: a queue
of failures to give first (status + body), a delay before answering, whether to send usage.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.support.threaded_server import ThreadedServer


@dataclass
class Script:
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    delay: float = 0.0
    send_usage: bool = True
    prompt_tokens: int = 11
    completion_tokens: int = 7
    cached_tokens: int = 0
    reply: str = "Hello from the fake upstream."
    stream_chunks: int = 5
    chunk_pause: float = 0.0
    big_chunk: int = 0  # bytes of one extra-large content delta in streams
    tool_call: bool = False  # answer with a get_weather tool call (plain and streamed)
    reasoning: str = ""  # reasoning text before the answer, in `reasoning_field`
    reasoning_field: str = "reasoning_content"  # DeepSeek's; OpenRouter's is "reasoning"
    # Balance endpoints (OpenAI dashboard and vendor APIs): answers derive from these amounts.
    hard_limit_usd: float = 100.0
    has_payment_method: bool = True
    total_usage_cents: float = 2550.0
    vendor_balance: str = "42.5"


class FakeOpenAI(ThreadedServer):
    def __init__(self) -> None:
        super().__init__()
        self.script = Script()
        self.started_streams = 0
        self.finished_streams = 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw, body = await self._record(request)
        if request.path.startswith("/echo"):
            return await self._echo(request, raw)
        s = self.script
        if s.delay:
            await asyncio.sleep(s.delay)
        if s.failures:
            status, error = s.failures.pop(0)
            return web.json_response(error, status=status)
        path = request.path
        billing = self._billing(path)
        if billing is not None:
            return web.json_response(billing)
        model = body.get("model", "") if isinstance(body, dict) else ""
        if path.endswith("/embeddings"):
            return web.json_response(self._embeddings(body, model))
        if path.endswith("/moderations"):
            return web.json_response(
                {
                    "id": "modr-1",
                    "model": model or "text-moderation-007",
                    "results": [{"flagged": False, "categories": {}, "category_scores": {}}],
                }
            )
        if isinstance(body, dict) and body.get("stream"):
            return await self._stream(request, body, model)
        return web.json_response(self._completion(body, model, path))

    def _billing(self, path: str) -> dict[str, Any] | None:
        """Balance APIs: OpenAI's dashboard, DeepSeek, OpenRouter, SiliconFlow; None for other paths."""
        s = self.script
        if path.endswith("/dashboard/billing/subscription"):
            return {
                "object": "billing_subscription",
                "has_payment_method": s.has_payment_method,
                "hard_limit_usd": s.hard_limit_usd,
            }
        if path.endswith("/dashboard/billing/usage"):
            return {"object": "list", "total_usage": s.total_usage_cents}
        if path == "/user/balance":
            return {
                "is_available": True,
                "balance_infos": [
                    {"currency": "USD", "total_balance": "1.00"},
                    {"currency": "CNY", "total_balance": s.vendor_balance},
                ],
            }
        if path == "/v1/credits":
            return {"data": {"total_credits": float(s.vendor_balance) + 10, "total_usage": 10}}
        if path == "/v1/user/info":
            return {"code": 20000, "status": True, "data": {"totalBalance": s.vendor_balance}}
        return None

    async def _echo(self, request: web.Request, raw: bytes) -> web.StreamResponse:
        """For pass-through tests: the request body back, then `?chunks=N` more pieces (pausing
        `script.chunk_pause` before each), with the status `?status=` and two headers of its own."""
        response = web.StreamResponse(
            status=int(request.query.get("status", "200")),
            headers={"Content-Type": "application/octet-stream", "X-Echo": "yes"},
        )
        response.headers.add("Set-Cookie", "a=1")
        response.headers.add("Set-Cookie", "b=2")
        await response.prepare(request)
        await response.write(raw)
        for i in range(int(request.query.get("chunks", "0"))):
            await asyncio.sleep(self.script.chunk_pause)
            await response.write(f"chunk-{i}\n".encode())
        await response.write_eof()
        return response

    def _usage(self) -> dict[str, Any]:
        s = self.script
        usage: dict[str, Any] = {
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens,
            "total_tokens": s.prompt_tokens + s.completion_tokens,
        }
        if s.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": s.cached_tokens}
        return usage

    def _completion(self, body: Any, model: str, path: str) -> dict[str, Any]:
        s = self.script
        if path.endswith("/completions") and not path.endswith("/chat/completions"):
            out: dict[str, Any] = {
                "id": "cmpl-1",
                "object": "text_completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "text": s.reply, "finish_reason": "stop"}],
            }
        else:
            message: dict[str, Any] = {"role": "assistant", "content": s.reply}
            finish = "stop"
            if s.tool_call:
                message = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                }
                finish = "tool_calls"
            if s.reasoning:
                message[s.reasoning_field] = s.reasoning
            out = {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            }
        if s.send_usage:
            out["usage"] = self._usage()
        return out

    def _embeddings(self, body: Any, model: str) -> dict[str, Any]:
        inputs = body.get("input") if isinstance(body, dict) else None
        count = len(inputs) if isinstance(inputs, list) else 1
        out: dict[str, Any] = {
            "object": "list",
            "model": model,
            "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(count)],
        }
        if self.script.send_usage:
            out["usage"] = {
                "prompt_tokens": self.script.prompt_tokens,
                "total_tokens": self.script.prompt_tokens,
            }
        return out

    async def _stream(self, request: web.Request, body: dict[str, Any], model: str) -> web.StreamResponse:
        s = self.script
        self.started_streams += 1
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        base = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        words = _split(s.reply, s.stream_chunks) if s.reply else []
        await response.write(
            _frame({**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]})
        )
        if s.reasoning:
            delta = {s.reasoning_field: s.reasoning}
            await response.write(
                _frame({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            )
        if s.tool_call:
            words = []
            for delta in _tool_call_deltas():
                await response.write(
                    _frame({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
                )
        for word in words:
            if s.chunk_pause:
                await asyncio.sleep(s.chunk_pause)
            await response.write(
                _frame({**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]})
            )
        if s.big_chunk:
            await response.write(
                _frame(
                    {
                        **base,
                        "choices": [
                            {"index": 0, "delta": {"content": "x" * s.big_chunk}, "finish_reason": None}
                        ],
                    }
                )
            )
        await response.write(
            _frame(
                {
                    **base,
                    "choices": [
                        {"index": 0, "delta": {}, "finish_reason": "tool_calls" if s.tool_call else "stop"}
                    ],
                }
            )
        )
        include = (body.get("stream_options") or {}).get("include_usage")
        if s.send_usage and include:
            await response.write(_frame({**base, "choices": [], "usage": self._usage()}))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        self.finished_streams += 1
        return response


def _tool_call_deltas() -> list[dict[str, Any]]:
    """A get_weather call streamed as OpenAI does: id and name first, then argument fragments."""
    first = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    return [
        {"tool_calls": [first]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
    ]


def _frame(obj: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def _split(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i : i + size] for i in range(0, len(text), size)]
