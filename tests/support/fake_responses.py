"""A fake OpenAI Responses upstream: a real aiohttp server on loopback speaking `/v1/responses`.

Creates responses (plain JSON, or SSE with OpenAI's event sequence: `response.created`,
`response.in_progress`, per output item `output_item.added` … deltas … `output_item.done`,
`response.completed`, every event with its `sequence_number`), stores them unless `store` is
false, and serves `GET /v1/responses/{id}`, `/input_items`, `DELETE` and `/cancel`. Output: a
reasoning item (summary + encrypted content) when the request asks for reasoning or the script
does, a `function_call` when scripted, else a message with `output_text` (JSON when `text.format`
asks for a schema). Usage carries cached and reasoning tokens. Requests are recorded in
`received`; failures, a mid-stream `error` event or a cut connection are scripted per test.
With `script.strict` the fake is as particular as OpenAI: a reasoning summary only when
`reasoning.summary` asks, encrypted reasoning only when `include` asks (and only for reasoning
models), and requests refused when `max_output_tokens` is under 16, a `function_call_output` has
no call, a `user` or `call_id` is longer than 64 characters or, with `store: false`, a
reasoning item carries no `encrypted_content`.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.support.threaded_server import ThreadedServer

ENCRYPTED = "gAAAAB-fake-encrypted-reasoning"
SUMMARY = "Thinking about the question."
STRUCTURED_REPLY = '{"answer": 42}'
CALL_ARGUMENTS = '{"city":"Paris"}'


@dataclass
class ResponsesScript:
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    reply: str = "Hello from Responses."
    input_tokens: int = 30
    cached_tokens: int = 0
    output_tokens: int = 12
    reasoning_tokens: int = 0
    reasoning: bool = False
    tool_call: bool = False
    stream_pieces: int = 3
    error_event: bool = False  # `error` + `response.failed` after the first text delta
    cut: bool = False  # the connection drops after the first text delta
    strict: bool = False  # answer and validate as OpenAI does (see the module docstring)
    incomplete: bool = False  # stopped by max_output_tokens (`response.incomplete` when streamed)


class FakeResponses(ThreadedServer):
    def __init__(self) -> None:
        super().__init__()
        self.script = ResponsesScript()
        self.stored: dict[str, dict[str, Any]] = {}
        self.inputs: dict[str, Any] = {}
        self._ids = itertools.count(1)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        _raw, body = await self._record(request)
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _error(401, "invalid_api_key", "Missing bearer authentication in header")
        path = request.path.removeprefix("/v1")
        if not path.startswith("/responses"):
            return _error(404, "not_found", f"no route {request.path}")
        rest = path.removeprefix("/responses").strip("/")
        if rest:
            return self._stored(request.method, rest)
        if request.method != "POST" or not isinstance(body, dict):
            return _error(400, "invalid_request_error", "a JSON body is required")
        if self.script.failures:
            status, error = self.script.failures.pop(0)
            return web.json_response(error, status=status)
        refusal = _refusal(body) if self.script.strict else None
        if refusal is not None:
            return _error(400, "invalid_request_error", refusal)
        response = self._response(body)
        if body.get("store") is not False:
            self.stored[response["id"]] = response
            self.inputs[response["id"]] = body.get("input")
        if body.get("stream"):
            return await self._stream(request, response)
        return web.json_response(response)

    # ---- stored responses -----------------------------------------------------------------------

    def _stored(self, method: str, rest: str) -> web.Response:
        response_id, _, action = rest.partition("/")
        found = self.stored.get(response_id)
        if found is None:
            return _error(404, None, f"Response with id '{response_id}' not found.")
        if method == "DELETE" and not action:
            del self.stored[response_id]
            return web.json_response({"id": response_id, "object": "response.deleted", "deleted": True})
        if method == "POST" and action == "cancel":
            found["status"] = "cancelled"
            return web.json_response(found)
        if method == "GET" and action == "input_items":
            items = self.inputs.get(response_id)
            if isinstance(items, str):
                items = [
                    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": items}]}
                ]
            data = [{"id": f"msg_in{i}", **item} for i, item in enumerate(items or [])]
            return web.json_response({"object": "list", "data": data, "has_more": False})
        if method == "GET" and not action:
            return web.json_response(found)
        return _error(405, None, "method not allowed")

    # ---- a new response -----------------------------------------------------------------------

    def _response(self, body: dict[str, Any]) -> dict[str, Any]:
        s = self.script
        output: list[dict[str, Any]] = []
        reasoning = body.get("reasoning")
        if s.reasoning or (isinstance(reasoning, dict) and reasoning.get("effort")):
            summarised = not s.strict or (isinstance(reasoning, dict) and bool(reasoning.get("summary")))
            encrypted = not s.strict or "reasoning.encrypted_content" in (body.get("include") or [])
            item: dict[str, Any] = {
                "id": "rs_fake1",
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": SUMMARY}] if summarised else [],
            }
            if encrypted:
                item["encrypted_content"] = ENCRYPTED
            output.append(item)
        if s.tool_call:
            output.append(
                {
                    "id": "fc_fake1",
                    "type": "function_call",
                    "call_id": "call_fake1",
                    "name": "get_weather",
                    "arguments": CALL_ARGUMENTS,
                    "status": "completed",
                }
            )
        else:
            fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
            text = STRUCTURED_REPLY if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else s.reply
            output.append(
                {
                    "id": "msg_fake1",
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            )
        return {
            "id": f"resp_fake{next(self._ids)}",
            "object": "response",
            "created_at": int(time.time()),
            "status": "incomplete" if s.incomplete else "completed",
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if s.incomplete else None,
            "instructions": body.get("instructions"),
            "model": body.get("model"),
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools", []),
            "usage": {
                "input_tokens": s.input_tokens,
                "input_tokens_details": {"cached_tokens": s.cached_tokens},
                "output_tokens": s.output_tokens,
                "output_tokens_details": {"reasoning_tokens": s.reasoning_tokens},
                "total_tokens": s.input_tokens + s.output_tokens,
            },
        }

    async def _stream(self, request: web.Request, final: dict[str, Any]) -> web.StreamResponse:
        s = self.script
        stream = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await stream.prepare(request)
        sequence = itertools.count()

        async def send(kind: str, **payload: Any) -> None:
            data = {"type": kind, "sequence_number": next(sequence), **payload}
            await stream.write(f"event: {kind}\n".encode() + b"data: " + orjson.dumps(data) + b"\n\n")

        opening = {**final, "status": "in_progress", "output": [], "usage": None}
        await send("response.created", response=opening)
        await send("response.in_progress", response=opening)
        for index, item in enumerate(final["output"]):
            added = {**item, "status": "in_progress"}
            if item["type"] == "message":
                added["content"] = []
            elif item["type"] == "function_call":
                added["arguments"] = ""
            elif item["type"] == "reasoning":
                added["summary"] = []
            await send("response.output_item.added", output_index=index, item=added)
            if item["type"] == "message":
                broke = await self._message(send, index, item)
                if broke:
                    if s.cut:
                        raise ConnectionResetError("scripted cut")
                    await send("error", code="server_error", message="The server had an error", param=None)
                    failed = {
                        **final,
                        "status": "failed",
                        "error": {"code": "server_error", "message": "boom"},
                    }
                    await send("response.failed", response=failed)
                    await stream.write_eof()
                    return stream
            elif item["type"] == "function_call":
                for piece in _split(item["arguments"], 2):
                    await send(
                        "response.function_call_arguments.delta",
                        item_id=item["id"],
                        output_index=index,
                        delta=piece,
                    )
                await send(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    arguments=item["arguments"],
                )
            else:
                await self._reasoning(send, index, item)
            await send("response.output_item.done", output_index=index, item=item)
        await send(f"response.{final['status']}", response=final)
        await stream.write_eof()
        return stream

    async def _message(self, send: Any, index: int, item: dict[str, Any]) -> bool:
        """The message item's events; True when the script breaks the stream after a delta."""
        where = {"item_id": item["id"], "output_index": index, "content_index": 0}
        await send(
            "response.content_part.added",
            **where,
            part={"type": "output_text", "text": "", "annotations": []},
        )
        text = item["content"][0]["text"]
        for piece in _split(text, self.script.stream_pieces):
            await send("response.output_text.delta", **where, delta=piece)
            if self.script.error_event or self.script.cut:
                return True
        await send("response.output_text.done", **where, text=text)
        await send("response.content_part.done", **where, part=item["content"][0])
        return False

    async def _reasoning(self, send: Any, index: int, item: dict[str, Any]) -> None:
        if not item["summary"]:
            return
        where = {"item_id": item["id"], "output_index": index, "summary_index": 0}
        await send(
            "response.reasoning_summary_part.added", **where, part={"type": "summary_text", "text": ""}
        )
        await send("response.reasoning_summary_text.delta", **where, delta=SUMMARY)
        await send("response.reasoning_summary_text.done", **where, text=SUMMARY)
        await send(
            "response.reasoning_summary_part.done", **where, part={"type": "summary_text", "text": SUMMARY}
        )


def _refusal(body: dict[str, Any]) -> str | None:
    """What OpenAI would refuse in a request body, or None."""
    model = str(body.get("model") or "")
    include = body.get("include") or []
    cap = body.get("max_output_tokens")
    if isinstance(cap, int) and cap < 16:
        return f"Invalid 'max_output_tokens': expected a value >= 16, but got {cap}."
    if len(str(body.get("user") or "")) > 64:
        return "Invalid 'user': string too long. Expected a string with maximum length 64."
    if "reasoning.encrypted_content" in include and not model.startswith(("o1", "o3", "o4", "gpt-5")):
        return "Encrypted content is not supported with this model."
    items: list[dict[str, Any]] = body["input"] if isinstance(body.get("input"), list) else []
    calls = {item.get("call_id") for item in items if item.get("type") == "function_call"}
    for item in items:
        if len(str(item.get("call_id") or "")) > 64:
            return "Invalid 'call_id': string too long. Expected a string with maximum length 64."
        if item.get("type") == "function_call_output" and item.get("call_id") not in calls:
            return f"No tool call found for function call output with call_id {item.get('call_id')}."
        if (
            item.get("type") == "reasoning"
            and body.get("store") is False
            and not item.get("encrypted_content")
        ):
            return "Reasoning items need their encrypted_content when store is false."
    return None


def _error(status: int, code: str | None, message: str) -> web.Response:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    return web.json_response({"error": error}, status=status)


def _split(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // max(n, 1)))
    return [text[i : i + size] for i in range(0, len(text), size)]
