"""OpenAI Responses SSE streams ⇄ IR events (SPEC §6.6, §6.7).

`EventDecoder` reads the JSON payload of each event (its `type` names it): output text and
refusal deltas are text; reasoning summary (a blank line between summary parts) and reasoning
text deltas are thinking, closed by the item's `encrypted_content` when it is done; a
`function_call` item starts a tool call whose argument deltas follow (the whole arguments from
the `done` events when no delta came); `response.completed` / `response.incomplete` give the stop
reason and usage; `response.failed` and `error` an error. OpenAI follows an `error` event with
`response.failed` for the same failure: only the first gives an event, and nothing after it does.

`EventEncoder` writes the event sequence OpenAI sends: `response.created`,
`response.in_progress`, then per output item `output_item.added`, its part / summary-part
`added`, deltas, `done` events and `output_item.done` (an item is closed when the next one
opens), and from `finish()` `response.completed` — or `response.incomplete` when the stop
reason is max_tokens or the content filter — holding the whole response and usage. Every event
has a `sequence_number`. An error gives an `error` event then `response.failed`.
"""

from __future__ import annotations

import time
from typing import Any

from oneapi.relay import ir
from oneapi.relay.protocols import fields as f
from oneapi.relay.protocols.openai_responses import (
    call_item,
    message_item,
    new_id,
    output_text,
    reasoning_item,
    reasoning_to_part,
    response_id,
    response_object,
    status_from_ir,
    status_to_ir,
    usage_to_ir,
)

_ERROR_CODES = frozenset({"server_error", "rate_limit_exceeded", "invalid_prompt"})


class EventDecoder:
    """Responses stream payloads in, IR events out."""

    __slots__ = ("_arguments", "_calls", "_failed", "_started", "_summaries")

    def __init__(self) -> None:
        self._started = False
        self._failed = False  # an error was reported: the stream is over
        self._calls: dict[str, int] = {}  # function_call item id → IR tool-call index
        self._arguments: dict[int, bool] = {}  # IR tool-call index → an argument delta was seen
        self._summaries: set[str] = set()  # reasoning items with a summary part already

    def feed(self, data: dict[str, Any]) -> list[ir.Event]:
        kind = data.get("type")
        if self._failed:
            return []
        events: list[ir.Event] = []
        response = f.sub(data, "response")
        if not self._started and kind != "error":
            self._started = True
            events.append(ir.MessageStart(str(response.get("id") or ""), str(response.get("model") or "")))
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            delta = data.get("delta")
            if isinstance(delta, str) and delta:
                events.append(ir.TextDelta(delta))
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            delta = data.get("delta")
            if isinstance(delta, str) and delta:
                events.append(ir.ThinkingDelta(delta))
        elif kind == "response.reasoning_summary_part.added":
            item_id = str(data.get("item_id") or "")
            if item_id in self._summaries:
                events.append(ir.ThinkingDelta("\n\n"))
            self._summaries.add(item_id)
        elif kind == "response.output_item.added":
            self._item_added(f.sub(data, "item"), events)
        elif kind == "response.function_call_arguments.delta":
            index = self._calls.get(str(data.get("item_id") or ""))
            delta = data.get("delta")
            if index is not None and isinstance(delta, str) and delta:
                self._arguments[index] = True
                events.append(ir.ToolCallDelta(index, delta))
        elif kind == "response.output_item.done":
            self._item_done(f.sub(data, "item"), events)
        elif kind in ("response.completed", "response.incomplete"):
            self._completed(response, events)
        elif kind == "response.failed":
            error = f.sub(response, "error")
            code = error.get("code")
            message = str(error.get("message") or "the response failed")
            events.append(ir.StreamError(message, code=None if code is None else str(code)))
            self._failed = True
        elif kind == "error":
            code = data.get("code")
            message = str(data.get("message") or "upstream error")
            events.append(ir.StreamError(message, code=None if code is None else str(code)))
            self._failed = True
        return events

    def _item_added(self, item: dict[str, Any], events: list[ir.Event]) -> None:
        if item.get("type") != "function_call":
            return
        index = len(self._calls)
        self._calls[str(item.get("id") or item.get("call_id") or index)] = index
        self._arguments[index] = False
        events.append(ir.ToolCallStart(index, str(item.get("call_id") or ""), str(item.get("name") or "")))
        arguments = item.get("arguments")
        if isinstance(arguments, str) and arguments:
            self._arguments[index] = True
            events.append(ir.ToolCallDelta(index, arguments))

    def _item_done(self, item: dict[str, Any], events: list[ir.Event]) -> None:
        kind = item.get("type")
        if kind == "reasoning":
            thinking = reasoning_to_part(item)
            if thinking is not None and thinking.signature is not None:
                events.append(ir.ThinkingDelta(signature=thinking.signature))
        elif kind == "function_call":
            index = self._calls.get(str(item.get("id") or item.get("call_id") or ""))
            arguments = item.get("arguments")
            if index is None:
                self._item_added(item, events)
            elif not self._arguments[index] and isinstance(arguments, str) and arguments:
                self._arguments[index] = True
                events.append(ir.ToolCallDelta(index, arguments))

    def _completed(self, response: dict[str, Any], events: list[ir.Event]) -> None:
        reason = status_to_ir(response, tool_calls=bool(self._calls))
        if reason is not None:
            events.append(ir.Stop(reason))
        usage = response.get("usage")
        if isinstance(usage, dict):
            events.append(ir.UsageUpdate(usage_to_ir(usage)))


class _Item:
    """An output item being written: its kind, position, id and what has been said in it."""

    __slots__ = ("call", "id", "index", "kind", "signature", "text")

    def __init__(self, kind: str, index: int, id: str) -> None:
        self.kind = kind  # message, reasoning or function_call
        self.index = index
        self.id = id
        self.text = ""  # message text, reasoning summary or call arguments
        self.signature: str | None = None
        self.call: ir.ToolCallPart | None = None

    def done(self) -> dict[str, Any]:
        if self.kind == "message":
            return message_item([self.text], id=self.id, status="completed")
        if self.kind == "reasoning":
            return reasoning_item(self.text, self.signature, id=self.id)
        assert self.call is not None
        self.call.arguments = self.text
        return call_item(self.call, id=self.id, status="completed")


class EventEncoder:
    """IR events in, Responses stream payloads out; `request` is the caller's request body."""

    __slots__ = (
        "_calls",
        "_closed",
        "_created",
        "_id",
        "_model",
        "_open",
        "_output",
        "_request",
        "_sequence",
        "_started",
        "_stop",
        "_usage",
    )

    def __init__(
        self,
        *,
        id: str = "",
        model: str = "",
        created: int | None = None,
        request: dict[str, Any] | None = None,
    ) -> None:
        self._id = response_id(id) if id else ""
        self._model = model
        self._created = created if created is not None else int(time.time())
        self._request = request
        self._sequence = 0
        self._started = False
        self._closed = False
        self._output: list[_Item] = []
        self._open: _Item | None = None
        self._calls: dict[int, _Item] = {}  # IR tool-call index → its item
        self._stop: ir.Stop | None = None
        self._usage: ir.Usage | None = None

    def encode(self, event: ir.Event) -> list[dict[str, Any]]:
        if self._closed:
            return []
        out: list[dict[str, Any]] = []
        if isinstance(event, ir.MessageStart):
            self._id = self._id or response_id(event.id)
            self._model = self._model or event.model
            self._start(out)
        elif isinstance(event, ir.UsageUpdate):
            self._usage = event.usage
        elif isinstance(event, ir.Stop):
            self._stop = event
        elif isinstance(event, ir.StreamError):
            self._start(out)
            self._fail(event, out)
        else:
            self._start(out)
            self._content(event, out)
        return out

    def finish(self) -> list[dict[str, Any]]:
        """Open items closed, then `response.completed` (or `response.incomplete`)."""
        if self._closed:
            return []
        self._closed = True
        out: list[dict[str, Any]] = []
        self._start(out)
        self._close(out)
        status, incomplete = status_from_ir(self._stop.reason if self._stop else None)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        self._emit(out, kind, response=self._response(status, incomplete=incomplete))
        return out

    # ---- content ------------------------------------------------------------------------------

    def _content(self, event: ir.Event, out: list[dict[str, Any]]) -> None:
        if isinstance(event, ir.TextDelta) and event.text:
            item = self._item("message", out)
            item.text += event.text
            self._emit(
                out,
                "response.output_text.delta",
                **self._at(item),
                content_index=0,
                delta=event.text,
                logprobs=[],
            )
        elif isinstance(event, ir.ThinkingDelta):
            self._thinking(event, out)
        elif isinstance(event, ir.ToolCallStart):
            self._call_start(event.index, ir.ToolCallPart(event.id, event.name, ""), out)
        elif isinstance(event, ir.ToolCallDelta) and event.arguments:
            call = self._calls.get(event.index)
            if call is None:
                call = self._call_start(event.index, ir.ToolCallPart("", "", ""), out)
            call.text += event.arguments
            self._emit(out, "response.function_call_arguments.delta", **self._at(call), delta=event.arguments)

    def _thinking(self, event: ir.ThinkingDelta, out: list[dict[str, Any]]) -> None:
        if not event.text and event.signature is None:
            return
        item = self._item("reasoning", out)
        if event.text:
            if not item.text:
                part = {"type": "summary_text", "text": ""}
                self._emit(
                    out, "response.reasoning_summary_part.added", **self._at(item), summary_index=0, part=part
                )
            item.text += event.text
            self._emit(
                out,
                "response.reasoning_summary_text.delta",
                **self._at(item),
                summary_index=0,
                delta=event.text,
            )
        if event.signature is not None:
            item.signature = (item.signature or "") + event.signature
            self._close(out)

    def _call_start(self, index: int, call: ir.ToolCallPart, out: list[dict[str, Any]]) -> _Item:
        self._close(out)
        item = self._open_item("function_call", new_id("fc"), out, call)
        self._calls[index] = item
        return item

    def _item(self, kind: str, out: list[dict[str, Any]]) -> _Item:
        """The open item of `kind`, opening a new one (and closing the last) if needed."""
        if self._open is not None and self._open.kind == kind:
            return self._open
        self._close(out)
        prefix = "msg" if kind == "message" else "rs"
        return self._open_item(kind, new_id(prefix), out, None)

    def _open_item(
        self, kind: str, id: str, out: list[dict[str, Any]], call: ir.ToolCallPart | None
    ) -> _Item:
        item = _Item(kind, len(self._output), id)
        item.call = call
        self._output.append(item)
        self._open = item
        if kind == "message":
            added = message_item([], id=id, status="in_progress")
        elif kind == "reasoning":
            added = reasoning_item("", None, id=id)
        else:
            assert call is not None
            added = call_item(call, id=id, status="in_progress")
        self._emit(out, "response.output_item.added", output_index=item.index, item=added)
        if kind == "message":
            self._emit(
                out, "response.content_part.added", **self._at(item), content_index=0, part=output_text("")
            )
        return item

    def _close(self, out: list[dict[str, Any]]) -> None:
        item = self._open
        if item is None:
            return
        self._open = None
        at = self._at(item)
        if item.kind == "message":
            self._emit(out, "response.output_text.done", **at, content_index=0, text=item.text, logprobs=[])
            self._emit(out, "response.content_part.done", **at, content_index=0, part=output_text(item.text))
        elif item.kind == "reasoning" and item.text:
            part = {"type": "summary_text", "text": item.text}
            self._emit(out, "response.reasoning_summary_text.done", **at, summary_index=0, text=item.text)
            self._emit(out, "response.reasoning_summary_part.done", **at, summary_index=0, part=part)
        elif item.kind == "function_call":
            assert item.call is not None
            self._emit(
                out, "response.function_call_arguments.done", **at, name=item.call.name, arguments=item.text
            )
        self._emit(out, "response.output_item.done", output_index=item.index, item=item.done())

    # ---- lifecycle ----------------------------------------------------------------------------

    def _start(self, out: list[dict[str, Any]]) -> None:
        if self._started:
            return
        self._started = True
        self._id = self._id or response_id("")
        self._emit(out, "response.created", response=self._response("in_progress", output=[]))
        self._emit(out, "response.in_progress", response=self._response("in_progress", output=[]))

    def _fail(self, error: ir.StreamError, out: list[dict[str, Any]]) -> None:
        self._closed = True
        self._close(out)
        code = error.code if error.code in _ERROR_CODES else "server_error"
        self._emit(out, "error", code=error.code or code, message=error.message, param=None)
        failure = {"code": code, "message": error.message}
        self._emit(out, "response.failed", response=self._response("failed", error=failure))

    def _response(
        self,
        status: str,
        *,
        output: list[dict[str, Any]] | None = None,
        incomplete: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        final = status not in ("in_progress",)
        return response_object(
            id=self._id,
            model=self._model,
            created=self._created,
            status=status,
            output=output if output is not None else [item.done() for item in self._output],
            usage=self._usage if final else None,
            request=self._request,
            incomplete=incomplete,
            error=error,
        )

    def _at(self, item: _Item) -> dict[str, Any]:
        return {"item_id": item.id, "output_index": item.index}

    def _emit(self, out: list[dict[str, Any]], kind: str, **payload: Any) -> None:
        out.append({"type": kind, "sequence_number": self._sequence, **payload})
        self._sequence += 1
