"""Anthropic Messages SSE streams ⇄ IR events (SPEC §6.4, §6.5).

`EventDecoder` reads each frame's event name and JSON; usage from `message_start` is merged with
the cumulative usage of `message_delta`. Blocks other than text, thinking, redacted thinking and
tool_use (server tools and their results) are skipped.

`EventEncoder` writes `(event name, JSON)` frames: `message_start`, then per block
`content_block_start` / `content_block_delta`… / `content_block_stop` with increasing indexes
(a thinking block is closed by its signature; text, thinking and tool blocks each open a new
block when the kind changes), and from `finish()` the `message_delta` with stop reason and usage,
then `message_stop`. Argument fragments for a tool call whose block was already closed (upstreams
that interleave parallel calls) are still written under that call's own index.
"""

from __future__ import annotations

from typing import Any

from oneapi.relay import ir
from oneapi.relay.protocols import fields as f
from oneapi.relay.protocols.anthropic_messages import STOP_FROM_IR, stop_to_ir, usage_from_ir, usage_to_ir

Frame = tuple[str, dict[str, Any]]


class EventDecoder:
    __slots__ = ("_tools", "_usage")

    def __init__(self) -> None:
        self._tools: dict[int, int] = {}  # block index → IR tool-call index
        self._usage: dict[str, Any] = {}

    def feed(self, event: str | None, data: dict[str, Any]) -> list[ir.Event]:
        kind = data.get("type") or event
        if kind == "message_start":
            message = f.sub(data, "message")
            usage = message.get("usage")
            if isinstance(usage, dict):
                self._usage = dict(usage)
            start_usage = usage_to_ir(self._usage) if self._usage else None
            return [
                ir.MessageStart(str(message.get("id") or ""), str(message.get("model") or ""), start_usage)
            ]
        if kind == "content_block_start":
            block = data.get("content_block")
            return self._block_start(data.get("index"), block) if isinstance(block, dict) else []
        if kind == "content_block_delta":
            delta = data.get("delta")
            return self._delta(data.get("index"), delta) if isinstance(delta, dict) else []
        if kind == "message_delta":
            return self._message_delta(data)
        if kind == "error":
            error = f.sub(data, "error")
            return [
                ir.StreamError(
                    str(error.get("message") or "upstream error"), str(error.get("type") or "api_error")
                )
            ]
        return []

    def _block_start(self, index: Any, block: dict[str, Any]) -> list[ir.Event]:
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            return [ir.TextDelta(text)] if isinstance(text, str) and text else []
        if kind == "thinking":
            text = block.get("thinking")
            return [ir.ThinkingDelta(text)] if isinstance(text, str) and text else []
        if kind == "redacted_thinking" and isinstance(block.get("data"), str):
            return [ir.RedactedThinking(block["data"])]
        if kind == "tool_use" and isinstance(index, int):
            tool = len(self._tools)
            self._tools[index] = tool
            events: list[ir.Event] = [
                ir.ToolCallStart(tool, str(block.get("id") or ""), str(block.get("name") or ""))
            ]
            if block.get("input"):
                events.append(ir.ToolCallDelta(tool, f.dumps(block["input"])))
            return events
        return []

    def _delta(self, index: Any, delta: dict[str, Any]) -> list[ir.Event]:
        kind = delta.get("type")
        if kind == "text_delta" and isinstance(delta.get("text"), str) and delta["text"]:
            return [ir.TextDelta(delta["text"])]
        if kind == "thinking_delta" and isinstance(delta.get("thinking"), str) and delta["thinking"]:
            return [ir.ThinkingDelta(delta["thinking"])]
        if kind == "signature_delta" and isinstance(delta.get("signature"), str):
            return [ir.ThinkingDelta(signature=delta["signature"])]
        if kind == "input_json_delta" and index in self._tools:
            partial = delta.get("partial_json")
            return (
                [ir.ToolCallDelta(self._tools[index], partial)]
                if isinstance(partial, str) and partial
                else []
            )
        return []

    def _message_delta(self, data: dict[str, Any]) -> list[ir.Event]:
        events: list[ir.Event] = []
        delta = f.sub(data, "delta")
        reason = stop_to_ir(delta.get("stop_reason"))
        if reason is not None:
            sequence = delta.get("stop_sequence")
            events.append(ir.Stop(reason, sequence if isinstance(sequence, str) else None))
        usage = data.get("usage")
        if isinstance(usage, dict):
            self._usage.update({key: value for key, value in usage.items() if value is not None})
            events.append(ir.UsageUpdate(usage_to_ir(self._usage)))
        return events


class EventEncoder:
    __slots__ = (
        "_closed",
        "_id",
        "_model",
        "_next",
        "_open",
        "_start_usage",
        "_started",
        "_stop",
        "_tools",
        "_usage",
    )

    def __init__(self, *, id: str = "", model: str = "") -> None:
        self._id = id
        self._model = model
        self._started = False  # message_start written
        self._closed = False  # an error or finish() ended the message
        self._next = 0  # index of the next block
        self._open: tuple[str, int] | None = None  # kind and index of the open block
        self._tools: dict[int, int] = {}  # IR tool-call index → block index
        self._start_usage: ir.Usage | None = None
        self._usage: ir.Usage | None = None
        self._stop: ir.Stop | None = None

    def encode(self, event: ir.Event) -> list[Frame]:
        if self._closed:
            return []
        frames: list[Frame] = []
        if isinstance(event, ir.MessageStart):
            self._id = self._id or event.id
            self._model = self._model or event.model
            self._start_usage = event.usage
            self._ensure_started(frames)
        elif isinstance(event, ir.UsageUpdate):
            self._usage = event.usage
        elif isinstance(event, ir.Stop):
            self._stop = event
            self._close_block(frames)
        elif isinstance(event, ir.StreamError):
            self._closed = True
            frames.append(
                ("error", {"type": "error", "error": {"type": event.type, "message": event.message}})
            )
        else:
            self._ensure_started(frames)
            self._content(event, frames)
        return frames

    def finish(self) -> list[Frame]:
        """The closing frames: open block stopped, `message_delta` (stop reason, usage), `message_stop`."""
        if self._closed:
            return []
        self._closed = True
        frames: list[Frame] = []
        self._ensure_started(frames)
        self._close_block(frames)
        if self._stop is not None:
            reason, sequence = STOP_FROM_IR[self._stop.reason], self._stop.stop_sequence
        else:
            reason, sequence = ("tool_use" if self._tools else "end_turn"), None
        usage = self._usage or self._start_usage or ir.Usage()
        frames.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": reason, "stop_sequence": sequence},
                    "usage": usage_from_ir(usage),
                },
            )
        )
        frames.append(("message_stop", {"type": "message_stop"}))
        return frames

    def _content(self, event: ir.Event, frames: list[Frame]) -> None:
        if isinstance(event, ir.TextDelta):
            if event.text:
                index = self._open_block("text", {"type": "text", "text": ""}, frames)
                frames.append(_delta(index, {"type": "text_delta", "text": event.text}))
        elif isinstance(event, ir.ThinkingDelta):
            index = self._open_block(
                "thinking", {"type": "thinking", "thinking": "", "signature": ""}, frames
            )
            if event.text:
                frames.append(_delta(index, {"type": "thinking_delta", "thinking": event.text}))
            if event.signature is not None:
                frames.append(_delta(index, {"type": "signature_delta", "signature": event.signature}))
                self._close_block(frames)
        elif isinstance(event, ir.RedactedThinking):
            self._open_block("redacted_thinking", {"type": "redacted_thinking", "data": event.data}, frames)
            self._close_block(frames)
        elif isinstance(event, ir.ToolCallStart):
            self._tool_start(event, frames)
        elif isinstance(event, ir.ToolCallDelta):
            if event.index not in self._tools:
                self._tool_start(ir.ToolCallStart(event.index, "", ""), frames)
            if event.arguments:
                delta = {"type": "input_json_delta", "partial_json": event.arguments}
                frames.append(_delta(self._tools[event.index], delta))

    def _tool_start(self, event: ir.ToolCallStart, frames: list[Frame]) -> None:
        self._close_block(frames)
        block = {"type": "tool_use", "id": event.id, "name": event.name, "input": {}}
        self._tools[event.index] = self._open_block("tool_use", block, frames)

    def _ensure_started(self, frames: list[Frame]) -> None:
        if self._started:
            return
        self._started = True
        usage = (
            usage_from_ir(self._start_usage) if self._start_usage else {"input_tokens": 0, "output_tokens": 0}
        )
        message: dict[str, Any] = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        frames.append(("message_start", {"type": "message_start", "message": message}))

    def _open_block(self, kind: str, block: dict[str, Any], frames: list[Frame]) -> int:
        """The index of the open block of `kind`, opening a new one (and closing the last) if needed."""
        if self._open is not None and self._open[0] == kind and kind != "tool_use":
            return self._open[1]
        self._close_block(frames)
        index = self._next
        self._next += 1
        self._open = (kind, index)
        frames.append(
            ("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})
        )
        return index

    def _close_block(self, frames: list[Frame]) -> None:
        if self._open is not None:
            frames.append(("content_block_stop", {"type": "content_block_stop", "index": self._open[1]}))
            self._open = None


def _delta(index: int, delta: dict[str, Any]) -> Frame:
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
