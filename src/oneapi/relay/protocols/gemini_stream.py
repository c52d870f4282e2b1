"""Gemini `streamGenerateContent?alt=sse` streams ⇄ IR events (SPEC §6.8).

Each SSE event of a Gemini stream is a whole `GenerateContentResponse` holding the next parts.
`ChunkDecoder` turns them into IR events: text and thought deltas, each function call as a start
and one argument delta (Gemini sends calls whole), a signature as `ThinkingDelta(signature=…)`
(or on the call's start), the stop reason from `finishReason`, and usage from `usageMetadata`:
the first chunk's on `MessageStart` too (Claude callers read the prompt tokens there), and each
change as an `UsageUpdate` (the last one wins). `ChunkEncoder` writes such chunks for IR events: tool
calls are held until their arguments are complete, `finish()` gives the last chunk with the
finish reason and usage, and an error is Gemini's error object, after which nothing is written.
"""

from __future__ import annotations

from typing import Any

from oneapi.relay import ir
from oneapi.relay.protocols import fields as f
from oneapi.relay.protocols.gemini import (
    FINISH_FROM_IR,
    blocked,
    finish_to_ir,
    first_candidate,
    new_call_id,
    usage_from_ir,
    usage_to_ir,
)


class ChunkDecoder:
    """GenerateContentResponse dicts in, IR events out. Only the first candidate is read."""

    __slots__ = ("_calls", "_started", "_usage")

    def __init__(self) -> None:
        self._started = False
        self._calls = 0
        self._usage: ir.Usage | None = None

    def feed(self, chunk: dict[str, Any]) -> list[ir.Event]:
        error = chunk.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            return [
                ir.StreamError(
                    message=str(error.get("message") or "upstream error"),
                    type=str(error.get("status") or "api_error"),
                    code=None if code is None else str(code),
                )
            ]
        events: list[ir.Event] = []
        usage = chunk.get("usageMetadata")
        current = usage_to_ir(usage) if isinstance(usage, dict) else None
        if not self._started:
            self._started = True
            events.append(
                ir.MessageStart(
                    str(chunk.get("responseId") or ""), str(chunk.get("modelVersion") or ""), current
                )
            )
        candidate = first_candidate(chunk)
        parts = f.sub(candidate, "content").get("parts")
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict):
                self._part(part, events)
        reason = (
            ir.StopReason.CONTENT_FILTER
            if blocked(chunk)
            else finish_to_ir(candidate.get("finishReason"), tool_calls=self._calls > 0)
        )
        if reason is not None:
            events.append(ir.Stop(reason))
        if current is not None and current != self._usage:
            self._usage = current
            events.append(ir.UsageUpdate(current))
        return events

    def _part(self, part: dict[str, Any], events: list[ir.Event]) -> None:
        raw_signature = part.get("thoughtSignature")
        signature = raw_signature if isinstance(raw_signature, str) and raw_signature else None
        text = part.get("text")
        text = text if isinstance(text, str) else ""
        call = part.get("functionCall")
        if part.get("thought") is True:
            if text:
                events.append(ir.ThinkingDelta(text))
            if signature is not None:
                events.append(ir.ThinkingDelta(signature=signature))
        elif isinstance(call, dict):
            raw_id = call.get("id")
            call_id = raw_id if isinstance(raw_id, str) and raw_id else new_call_id()
            index = self._calls
            self._calls += 1
            events.append(ir.ToolCallStart(index, call_id, str(call.get("name") or ""), signature))
            args = call.get("args")
            events.append(ir.ToolCallDelta(index, f.dumps(args if args is not None else {})))
        else:
            if signature is not None:
                events.append(ir.ThinkingDelta(signature=signature))
            if text:
                events.append(ir.TextDelta(text))


class ChunkEncoder:
    """IR events in, GenerateContentResponse dicts out."""

    __slots__ = ("_calls", "_closed", "_id", "_model", "_stop", "_usage")

    def __init__(self, *, id: str = "", model: str = "") -> None:
        self._closed = False  # an error or finish() ended the stream
        self._id = id
        self._model = model
        self._calls: dict[int, dict[str, Any]] = {}  # calls whose arguments are still arriving
        self._stop: ir.Stop | None = None
        self._usage: ir.Usage | None = None

    def encode(self, event: ir.Event) -> list[dict[str, Any]]:
        if self._closed:
            return []
        if isinstance(event, ir.ToolCallStart):
            self._calls[event.index] = {
                "id": event.id,
                "name": event.name,
                "args": "",
                "sig": event.signature,
            }
            return []
        if isinstance(event, ir.ToolCallDelta):
            call = self._calls.setdefault(event.index, {"id": "", "name": "", "args": "", "sig": None})
            call["args"] += event.arguments
            return []
        chunks = self._flush()
        if isinstance(event, ir.MessageStart):
            self._id = self._id or event.id
            self._model = self._model or event.model
        elif isinstance(event, ir.TextDelta) and event.text:
            chunks.append(self._chunk([{"text": event.text}]))
        elif isinstance(event, ir.ThinkingDelta) and (event.text or event.signature is not None):
            part: dict[str, Any] = {"text": event.text, "thought": True}
            if event.signature is not None:
                part["thoughtSignature"] = event.signature
            chunks.append(self._chunk([part]))
        elif isinstance(event, ir.Stop):
            self._stop = event
        elif isinstance(event, ir.UsageUpdate):
            self._usage = event.usage
        elif isinstance(event, ir.StreamError):
            self._closed = True
            chunks.append({"error": {"code": 500, "message": event.message, "status": "INTERNAL"}})
        return chunks

    def finish(self) -> list[dict[str, Any]]:
        """Calls still held, then the closing chunk with the finish reason and usage."""
        if self._closed:
            return []
        self._closed = True
        chunks = self._flush()
        last = self._chunk([])
        last["candidates"][0]["finishReason"] = FINISH_FROM_IR[self._stop.reason] if self._stop else "STOP"
        if self._usage is not None:
            last["usageMetadata"] = usage_from_ir(self._usage)
        chunks.append(last)
        return chunks

    def _flush(self) -> list[dict[str, Any]]:
        if not self._calls:
            return []
        parts = []
        for index in sorted(self._calls):
            call = self._calls[index]
            item: dict[str, Any] = {
                "functionCall": {"id": call["id"], "name": call["name"], "args": f.loads_object(call["args"])}
            }
            if call["sig"] is not None:
                item["thoughtSignature"] = call["sig"]
            parts.append(item)
        self._calls.clear()
        return [self._chunk(parts)]

    def _chunk(self, parts: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
            "modelVersion": self._model,
            "responseId": self._id,
        }
