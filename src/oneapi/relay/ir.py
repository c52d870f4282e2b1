"""The neutral representation every wire format converts to and from (hub and spokes, DESIGN §4).

A format module in `relay/protocols/` turns its requests, responses and stream events into these
classes and back, so N formats need 2·N converters. The IR is a superset of what the formats say;
what a target format cannot express is dropped by its converter, and fields a source format has
that the IR does not model ride along in `Request.extra[<format name>]`, restored only when the
same format is written again.

Conventions:
- Tool results are parts of a user message (Anthropic / Gemini style); OpenAI-style converters
  split them into `tool` messages.
- Tool-call arguments are JSON text, as OpenAI sends them (possibly partial while streaming).
- `Usage.input_tokens` counts every input token, cached reads and cache writes included (OpenAI
  style); Anthropic-style converters subtract the cache buckets. `output_tokens` includes
  reasoning tokens.
- A stream is a sequence of `Event`s; each `UsageUpdate` (and `MessageStart.usage`) carries the
  totals known so far, so the last one wins. `ir_stream` turns a whole `Response` into events and
  events back into a `Response`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class ConversionError(ValueError):
    """A request body that cannot be read in its declared format; the message is for the caller."""


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"  # a system/developer message in the middle of the conversation


class StopReason(StrEnum):
    END_TURN = "end_turn"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    TOOL_USE = "tool_use"
    CONTENT_FILTER = "content_filter"
    OTHER = "other"


# ---- content parts -------------------------------------------------------------------------


@dataclass(slots=True)
class TextPart:
    text: str
    cache_control: dict[str, Any] | None = None


@dataclass(slots=True)
class ImagePart:
    """An image by URL or inline base64 `data` with its `media_type`."""

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: str | None = None
    file_id: str | None = None
    cache_control: dict[str, Any] | None = None

    @classmethod
    def from_url(cls, url: str, detail: str | None = None) -> ImagePart:
        """A `data:` URL becomes inline data; any other URL is kept as a URL."""
        parsed = parse_data_url(url)
        if parsed is None:
            return cls(url=url, detail=detail)
        return cls(data=parsed[1], media_type=parsed[0], detail=detail)

    def as_url(self) -> str:
        """The image as one URL string (inline data as a `data:` URL)."""
        if self.data is not None:
            return data_url(self.media_type or "image/png", self.data)
        return self.url or ""


@dataclass(slots=True)
class AudioPart:
    data: str  # base64
    format: str  # wav, mp3, …


@dataclass(slots=True)
class FilePart:
    """A document (PDF, plain text, …) inline as base64 `data`, by `url`, or by provider `file_id`."""

    data: str | None = None
    media_type: str | None = None
    url: str | None = None
    file_id: str | None = None
    filename: str | None = None
    cache_control: dict[str, Any] | None = None

    def text(self) -> str | None:
        """The decoded content of an inline plain-text document, else None."""
        if self.data is None or self.media_type != "text/plain":
            return None
        try:
            return base64.b64decode(self.data).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None


@dataclass(slots=True)
class ToolCallPart:
    id: str
    name: str
    arguments: str  # JSON text
    cache_control: dict[str, Any] | None = None
    signature: str | None = None  # Gemini's thoughtSignature on a function call, needed to send it back


@dataclass(slots=True)
class ToolResultPart:
    call_id: str
    content: list[Part] = field(default_factory=list)  # text and image parts
    is_error: bool = False
    name: str = ""  # the called tool's name, when the format says it (Gemini needs it)
    cache_control: dict[str, Any] | None = None

    def text(self) -> str:
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


@dataclass(slots=True)
class ThinkingPart:
    text: str
    signature: str | None = None  # Anthropic's opaque proof, needed to send the block back


@dataclass(slots=True)
class RedactedThinkingPart:
    data: str


Part = (
    TextPart
    | ImagePart
    | AudioPart
    | FilePart
    | ToolCallPart
    | ToolResultPart
    | ThinkingPart
    | RedactedThinkingPart
)


@dataclass(slots=True)
class Message:
    role: Role
    content: list[Part] = field(default_factory=list)


# ---- request ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Tool:
    """A function tool; `parameters` is its JSON schema."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    strict: bool | None = None
    cache_control: dict[str, Any] | None = None


class ToolChoiceMode(StrEnum):
    AUTO = "auto"
    NONE = "none"
    REQUIRED = "required"  # Anthropic "any"
    NAMED = "named"


@dataclass(slots=True)
class ToolChoice:
    mode: ToolChoiceMode
    name: str | None = None  # for NAMED


@dataclass(slots=True)
class ResponseFormat:
    """Structured output: a JSON schema, or any JSON object, or plain text."""

    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    description: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None


@dataclass(slots=True)
class Sampling:
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None


@dataclass(slots=True)
class Reasoning:
    """Thinking settings. `enabled` None means the caller did not say; `adaptive` means the model
    sizes its own budget (Anthropic `adaptive`, Gemini budget -1)."""

    effort: str | None = None  # none, minimal, low, medium, high, xhigh, max
    budget_tokens: int | None = None
    enabled: bool | None = None
    adaptive: bool = False
    summary: str | None = None  # OpenAI Responses: auto, concise, detailed


@dataclass(slots=True)
class Request:
    model: str
    messages: list[Message] = field(default_factory=list)
    system: list[TextPart] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    sampling: Sampling = field(default_factory=Sampling)
    reasoning: Reasoning | None = None
    stream: bool = False
    user: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # format name → its other fields


# ---- response --------------------------------------------------------------------------------


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0  # all input, cache reads and writes included
    output_tokens: int = 0  # reasoning included
    cached_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def uncached_input_tokens(self) -> int:
        """Input that was neither read from nor written to a cache (Anthropic's `input_tokens`)."""
        cache = self.cached_tokens + self.cache_write_5m_tokens + self.cache_write_1h_tokens
        return max(self.input_tokens - cache, 0)


@dataclass(slots=True)
class Response:
    id: str
    model: str
    content: list[Part] = field(default_factory=list)
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    usage: Usage | None = None
    created: int = 0  # unix seconds, 0 when the format does not say


# ---- stream events ---------------------------------------------------------------------------


@dataclass(slots=True)
class MessageStart:
    id: str
    model: str
    usage: Usage | None = None


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ThinkingDelta:
    """Reasoning text; a delta carrying `signature` ends the current thinking block."""

    text: str = ""
    signature: str | None = None


@dataclass(slots=True)
class RedactedThinking:
    data: str


@dataclass(slots=True)
class ToolCallStart:
    index: int  # the tool call's position among this response's tool calls, from 0
    id: str
    name: str
    signature: str | None = None  # as ToolCallPart.signature


@dataclass(slots=True)
class ToolCallDelta:
    index: int
    arguments: str  # a fragment of the JSON text


@dataclass(slots=True)
class UsageUpdate:
    usage: Usage


@dataclass(slots=True)
class Stop:
    reason: StopReason
    stop_sequence: str | None = None


@dataclass(slots=True)
class StreamError:
    message: str
    type: str = "api_error"
    code: str | None = None


Event = (
    MessageStart
    | TextDelta
    | ThinkingDelta
    | RedactedThinking
    | ToolCallStart
    | ToolCallDelta
    | UsageUpdate
    | Stop
    | StreamError
)


# ---- helpers shared by the format modules ----------------------------------------------------


def data_url(media_type: str, data: str) -> str:
    return f"data:{media_type};base64,{data}"


def parse_data_url(url: str) -> tuple[str, str] | None:
    """`data:image/png;base64,AAAA` → ("image/png", "AAAA"); None for anything else."""
    if not url.startswith("data:"):
        return None
    header, sep, payload = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    return header[: -len(";base64")] or "application/octet-stream", payload


_EFFORT_SHARE = {"minimal": 0.1, "low": 0.25, "medium": 0.5, "high": 0.8, "xhigh": 0.9, "max": 0.95}
MIN_THINKING_BUDGET = 1024  # Anthropic's floor


def budget_for_effort(effort: str | None, max_tokens: int) -> int:
    """A thinking budget for an effort level: a share of `max_tokens`, at least 1024."""
    share = _EFFORT_SHARE.get(effort or "medium", 0.5)
    return max(MIN_THINKING_BUDGET, int(max_tokens * share))


def effort_for_budget(budget: int) -> str:
    """The effort level closest to a thinking budget in tokens."""
    if budget <= 2048:
        return "low"
    if budget <= 8192:
        return "medium"
    return "high"
