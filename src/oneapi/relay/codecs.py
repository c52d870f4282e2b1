"""The codec of each wire format, by name (see `wire/base.py` for what a codec is)."""

from __future__ import annotations

from oneapi.relay.wire.base import (
    ANTHROPIC_MESSAGES,
    GEMINI,
    OPENAI_CHAT,
    OPENAI_RESPONSES,
    Caller,
    Codec,
    StreamDecoder,
    StreamEncoder,
)
from oneapi.relay.wire.chat import CHAT
from oneapi.relay.wire.claude import CLAUDE
from oneapi.relay.wire.gemini import GEMINI_CODEC
from oneapi.relay.wire.responses import RESPONSES

CODECS: dict[str, Codec] = {
    OPENAI_CHAT: CHAT,
    ANTHROPIC_MESSAGES: CLAUDE,
    OPENAI_RESPONSES: RESPONSES,
    GEMINI: GEMINI_CODEC,
}


def codec(name: str) -> Codec:
    """The codec of a wire format; OpenAI Chat for a format not (yet) converted."""
    return CODECS.get(name, CHAT)


__all__ = [
    "ANTHROPIC_MESSAGES",
    "CODECS",
    "GEMINI",
    "OPENAI_CHAT",
    "OPENAI_RESPONSES",
    "Caller",
    "Codec",
    "StreamDecoder",
    "StreamEncoder",
    "codec",
]
