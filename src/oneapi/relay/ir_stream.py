"""Between a whole IR `Response` and the IR stream events that carry it.

`response_events` serves a streaming caller from a non-stream upstream call; `ResponseAccumulator`
serves a non-stream caller from a streamed call, and gives the text to count when an upstream
stream reports no usage.
"""

from __future__ import annotations

from oneapi.relay.ir import (
    Event,
    MessageStart,
    RedactedThinking,
    RedactedThinkingPart,
    Response,
    Stop,
    StreamError,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCallDelta,
    ToolCallPart,
    ToolCallStart,
    UsageUpdate,
)


def response_events(response: Response) -> list[Event]:
    """The stream that carries `response` (for a streaming caller served by a non-stream call)."""
    events: list[Event] = [MessageStart(response.id, response.model)]
    tool_index = 0
    for part in response.content:
        if isinstance(part, TextPart):
            events.append(TextDelta(part.text))
        elif isinstance(part, ThinkingPart):
            events.append(ThinkingDelta(part.text))
            if part.signature is not None:
                events.append(ThinkingDelta(signature=part.signature))
        elif isinstance(part, RedactedThinkingPart):
            events.append(RedactedThinking(part.data))
        elif isinstance(part, ToolCallPart):
            events.append(ToolCallStart(tool_index, part.id, part.name, part.signature))
            if part.arguments:
                events.append(ToolCallDelta(tool_index, part.arguments))
            tool_index += 1
    if response.stop_reason is not None:
        events.append(Stop(response.stop_reason, response.stop_sequence))
    if response.usage is not None:
        events.append(UsageUpdate(response.usage))
    return events


class ResponseAccumulator:
    """Folds stream events into the `Response` they describe (for a non-stream caller served by a
    stream, and for counting tokens when the upstream reports no usage)."""

    __slots__ = ("_open_thinking", "_tools", "error", "response")

    def __init__(self) -> None:
        self.response = Response(id="", model="")
        self.error: StreamError | None = None
        self._tools: dict[int, ToolCallPart] = {}
        self._open_thinking: ThinkingPart | None = None

    def feed(self, event: Event) -> None:
        content = self.response.content
        if isinstance(event, MessageStart):
            self.response.id = self.response.id or event.id
            self.response.model = self.response.model or event.model
            if event.usage is not None:
                self.response.usage = event.usage
        elif isinstance(event, TextDelta):
            if content and isinstance(content[-1], TextPart):
                content[-1].text += event.text
            else:
                content.append(TextPart(event.text))
        elif isinstance(event, ThinkingDelta):
            self._thinking(event)
        elif isinstance(event, RedactedThinking):
            content.append(RedactedThinkingPart(event.data))
        elif isinstance(event, ToolCallStart):
            call = ToolCallPart(event.id, event.name, "", signature=event.signature)
            self._tools[event.index] = call
            content.append(call)
        elif isinstance(event, ToolCallDelta):
            if event.index not in self._tools:
                self.feed(ToolCallStart(event.index, "", ""))
            self._tools[event.index].arguments += event.arguments
        elif isinstance(event, UsageUpdate):
            self.response.usage = event.usage
        elif isinstance(event, Stop):
            self.response.stop_reason = event.reason
            self.response.stop_sequence = event.stop_sequence
        else:
            self.error = event
        if not isinstance(event, ThinkingDelta | UsageUpdate | Stop):
            self._open_thinking = None

    def _thinking(self, event: ThinkingDelta) -> None:
        part = self._open_thinking
        if part is None:
            part = ThinkingPart("")
            self.response.content.append(part)
        part.text += event.text
        if event.signature is not None:
            part.signature = (part.signature or "") + event.signature
            self._open_thinking = None
        else:
            self._open_thinking = part
