"""OpenAI `chat.completion.chunk` streams ⇄ IR events.

`ChunkDecoder` reads the JSON objects of an upstream stream (the caller strips `data:` and stops at
`[DONE]`); tool-call fragments are matched by their `index`, or by `id` for upstreams that send
none, and a new `id` at a known index starts a new call. `ChunkEncoder` writes chunks for IR
events; the usage chunk (empty `choices`) comes from `finish()`, after which the caller writes
`data: [DONE]`.
"""

from __future__ import annotations

import time
from typing import Any

from oneapi.relay import ir
from oneapi.relay.protocols import fields as f
from oneapi.relay.protocols.openai_chat import (
    DEFAULT_REASONING_FORMAT,
    FINISH_FROM_IR,
    REASONING_FIELDS,
    ReasoningFormat,
    finish_to_ir,
    usage_from_ir,
    usage_to_ir,
)


class ChunkDecoder:
    """Chunk dicts in, IR events out. Only the first choice is read."""

    __slots__ = ("_by_id", "_by_index", "_ids", "_started")

    def __init__(self) -> None:
        self._started = False
        self._by_index: dict[int, int] = {}  # the chunk's tool-call index → IR tool-call index
        self._by_id: dict[str, int] = {}
        self._ids: list[str] = []

    def feed(self, chunk: dict[str, Any]) -> list[ir.Event]:
        error = chunk.get("error")
        if isinstance(error, dict):
            return [_error(error)]
        events: list[ir.Event] = []
        if not self._started:
            self._started = True
            events.append(ir.MessageStart(str(chunk.get("id") or ""), str(chunk.get("model") or "")))
        choices = chunk.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else None
        if isinstance(choice, dict):
            delta = choice.get("delta")
            if isinstance(delta, dict):
                self._delta(delta, events)
            reason = finish_to_ir(choice.get("finish_reason"))
            if reason is not None:
                events.append(ir.Stop(reason))
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            events.append(ir.UsageUpdate(usage_to_ir(usage)))
        return events

    def _delta(self, delta: dict[str, Any], events: list[ir.Event]) -> None:
        for name in REASONING_FIELDS:
            value = delta.get(name)
            if isinstance(value, str) and value:
                events.append(ir.ThinkingDelta(value))
                break
        content = delta.get("content")
        if isinstance(content, str) and content:
            events.append(ir.TextDelta(content))
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for call in calls:
                if isinstance(call, dict):
                    self._tool_call(call, events)

    def _tool_call(self, call: dict[str, Any], events: list[ir.Event]) -> None:
        position = call.get("index")
        raw_id = call.get("id")
        call_id = raw_id if isinstance(raw_id, str) else ""
        function = f.sub(call, "function")
        index = self._by_index.get(position) if isinstance(position, int) else None
        if index is not None and call_id and self._ids[index] not in ("", call_id):
            index = None  # the upstream reused an index for a new call
        if index is None and call_id and not isinstance(position, int):
            index = self._by_id.get(call_id)
        if index is None:
            index = len(self._ids)
            self._ids.append(call_id)
            if call_id:
                self._by_id[call_id] = index
            events.append(ir.ToolCallStart(index, call_id, str(function.get("name") or "")))
        if isinstance(position, int):
            self._by_index[position] = index
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            events.append(ir.ToolCallDelta(index, arguments))


def _error(error: dict[str, Any]) -> ir.StreamError:
    code = error.get("code")
    return ir.StreamError(
        message=str(error.get("message") or "upstream error"),
        type=str(error.get("type") or "api_error"),
        code=None if code is None else str(code),
    )


class ChunkEncoder:
    """IR events in, chunk dicts out; `reasoning_format` names the delta field for reasoning text."""

    __slots__ = ("_created", "_id", "_include_usage", "_model", "_reasoning", "_started", "_usage")

    def __init__(
        self,
        *,
        id: str = "",
        model: str = "",
        created: int | None = None,
        reasoning_format: ReasoningFormat = DEFAULT_REASONING_FORMAT,
        include_usage: bool = True,
    ) -> None:
        self._id = id
        self._model = model
        self._created = created if created is not None else int(time.time())
        self._reasoning = reasoning_format
        self._include_usage = include_usage
        self._started = False
        self._usage: ir.Usage | None = None

    def encode(self, event: ir.Event) -> list[dict[str, Any]]:
        if isinstance(event, ir.MessageStart):
            self._id = self._id or event.id
            self._model = self._model or event.model
            return self._start()
        if isinstance(event, ir.UsageUpdate):
            self._usage = event.usage
            return []
        if isinstance(event, ir.StreamError):
            error = {"message": event.message, "type": event.type, "code": event.code}
            return [{"error": error}]
        delta = self._delta(event)
        if delta is None:
            return []
        finish = FINISH_FROM_IR[event.reason] if isinstance(event, ir.Stop) else None
        return [*self._start(), self._chunk(delta, finish)]

    def finish(self) -> list[dict[str, Any]]:
        """The closing usage chunk, when usage is known and wanted."""
        if not self._include_usage or self._usage is None:
            return []
        chunk = self._chunk({}, None)
        chunk["choices"] = []
        chunk["usage"] = usage_from_ir(self._usage)
        return [chunk]

    def _delta(self, event: ir.Event) -> dict[str, Any] | None:
        if isinstance(event, ir.TextDelta):
            return {"content": event.text} if event.text else None
        if isinstance(event, ir.ThinkingDelta):
            return {self._reasoning: event.text} if event.text else None
        if isinstance(event, ir.ToolCallStart):
            function = {"name": event.name, "arguments": ""}
            return {
                "tool_calls": [
                    {"index": event.index, "id": event.id, "type": "function", "function": function}
                ]
            }
        if isinstance(event, ir.ToolCallDelta):
            return {"tool_calls": [{"index": event.index, "function": {"arguments": event.arguments}}]}
        if isinstance(event, ir.Stop):
            return {}
        return None

    def _start(self) -> list[dict[str, Any]]:
        if self._started:
            return []
        self._started = True
        return [self._chunk({"role": "assistant", "content": ""}, None)]

    def _chunk(self, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
