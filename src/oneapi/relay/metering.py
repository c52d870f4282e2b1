"""Local token counting, for reservations and for upstreams that report no usage (SPEC §5.4, §5.8).

Encoders (bpe-openai, offline): cl100k_base for the gpt-3.5 / gpt-4 (incl. -turbo, -32k) families
and OpenAI's older embedding and completion models, o200k_base for everything else (gpt-4o, 4.1,
5, the o-series and any newer or foreign model).

Memory: importing bpe-openai costs ~72 MB and each vocabulary 30-80 MB more (measured in bench/),
most of a gateway's footprint, and a request whose upstream reports usage needs none of it. So
nothing is loaded at import or start: an encoder is built on first use (~0.6 s the first time,
import included). Async callers await `ready(model)` first, which builds it in a worker thread;
the `*_bound` functions give an upper bound of a count without any vocabulary (a BPE token is at
least one UTF-8 byte), which is all a reservation needs when the balance is ample.

Event-loop guard: encoding runs on the calling thread at roughly 20-50 MB/s. A text longer than
MAX_ENCODED_CHARS (200k characters) is not encoded whole: three SAMPLE_CHARS slices (start,
middle, end) are counted and the result scaled by length, so one call stays within a few
milliseconds whatever the input size.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import threading
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import orjson

MAX_ENCODED_CHARS = 200_000
SAMPLE_CHARS = 16_000
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3
LEGACY_CHAT_MODEL = "gpt-3.5-turbo-0301"
LEGACY_TOKENS_PER_MESSAGE = 4
LEGACY_TOKENS_PER_NAME = -1
IMAGE_LOW_DETAIL_TOKENS = 85
IMAGE_TILE_TOKENS = 170
MINI_IMAGE_BASE_TOKENS = 2833  # gpt-4o-mini bills images at ~33× the token count
MINI_IMAGE_TILE_TOKENS = 5667
ESTIMATED_IMAGE_TILES = 4  # a 1024×1024 image, scaled to 768×768, is 2×2 tiles of 512

_CL100K_PREFIXES = ("gpt-3.5", "gpt-35", "gpt-4-", "text-embedding-", "text-davinci", "davinci", "babbage")
_encoders: dict[str, Any] = {}
_encoders_lock = threading.Lock()
_library: ModuleType | None = None

TextCounter = Callable[[str, str], int]  # (text, model) → tokens


def encoding_name(model: str) -> str:
    name = model.strip().lower().rsplit("/", 1)[-1]
    if name == "gpt-4" or name.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return "o200k_base"


def loaded(model: str) -> bool:
    """Whether the model's encoder is built (counting then costs no load)."""
    return encoding_name(model) in _encoders


async def ready(model: str) -> None:
    """Build the model's encoder in a worker thread if it is not built yet, so the event loop
    never waits for the library import or the vocabulary."""
    if not loaded(model):
        await asyncio.to_thread(_encoder, encoding_name(model))


def _bpe() -> ModuleType:
    global _library
    if _library is None:
        _library = importlib.import_module("bpe_openai")
    return _library


def _encoder(name: str) -> Any:
    encoder = _encoders.get(name)
    if encoder is None:
        with _encoders_lock:
            encoder = _encoders.get(name)
            if encoder is None:
                with warnings.catch_warnings():  # the library reads its data with a deprecated call
                    warnings.simplefilter("ignore", DeprecationWarning)
                    encoder = _encoders[name] = _bpe().get_encoding(name)
    return encoder


def count_text(text: str, model: str) -> int:
    """Tokens of `text` in the model's encoding (special-token text counts as plain text)."""
    if not text:
        return 0
    encoder = _encoder(encoding_name(model))
    if len(text) <= MAX_ENCODED_CHARS:
        return _encode_count(encoder, text)
    middle = len(text) // 2 - SAMPLE_CHARS // 2
    samples = (text[:SAMPLE_CHARS], text[middle : middle + SAMPLE_CHARS], text[-SAMPLE_CHARS:])
    sampled = sum(_encode_count(encoder, sample) for sample in samples)
    return math.ceil(sampled * len(text) / (3 * SAMPLE_CHARS))


def _encode_count(encoder: Any, text: str) -> int:
    try:
        return len(encoder.encode_ordinary(text))
    except _bpe().TokenLimitError as exc:  # more tokens than the library returns at once
        return int(exc.token_count)


def text_bound(text: str, model: str = "") -> int:
    """At least `count_text(text, model)`, without a vocabulary: BPE tokens partition the UTF-8
    bytes, so there are never more tokens than bytes (a lone surrogate, replaced before encoding,
    is 3 bytes either way). Past MAX_ENCODED_CHARS the count is a scaled sample of at most 4
    tokens per character, hence 4 × length."""
    if not text:
        return 0
    if text.isascii():
        return len(text)
    if len(text) > MAX_ENCODED_CHARS:
        return 4 * len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def count_chat_prompt(messages: list[Any], model: str, tools: Any = None) -> int:
    """Prompt tokens of a chat request: per message 3 + role + content + name (+1) + tool calls,
    3 more to prime the reply, plus the `tools` definitions as JSON. Images are not fetched:
    a low-detail image counts 85 tokens, any other a 1024×1024 high-detail estimate (765)."""
    return _chat_prompt(messages, model, tools, count_text)


def chat_prompt_bound(messages: list[Any], model: str, tools: Any = None) -> int:
    """At least `count_chat_prompt(...)`: the same formula with `text_bound` for every text."""
    return _chat_prompt(messages, model, tools, text_bound)


def _chat_prompt(messages: list[Any], model: str, tools: Any, count: TextCounter) -> int:
    legacy = model.strip().lower().startswith(LEGACY_CHAT_MODEL)
    per_message = LEGACY_TOKENS_PER_MESSAGE if legacy else TOKENS_PER_MESSAGE
    per_name = LEGACY_TOKENS_PER_NAME if legacy else TOKENS_PER_NAME
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += per_message + _count_str(message.get("role"), model, count)
        total += _count_content(message.get("content"), model, count)
        name = message.get("name")
        if isinstance(name, str) and name:
            total += per_name + count(name, model)
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                total += _count_str(function.get("name"), model, count)
                total += _count_str(function.get("arguments"), model, count)
    if tools:
        total += count(orjson.dumps(tools).decode(), model)
    return total


def _count_content(content: Any, model: str, count: TextCounter) -> int:
    if isinstance(content, str):
        return count(content, model)
    if not isinstance(content, list):
        return 0
    total = 0
    for part in content:
        if isinstance(part, str):
            total += count(part, model)
        elif isinstance(part, dict):
            if part.get("type") in ("image_url", "image"):
                total += image_tokens(part, model)
            else:
                total += _count_str(part.get("text"), model, count)
    return total


def image_tokens(part: dict[str, Any], model: str) -> int:
    """The estimate for one image part: low detail = base tokens, else base + 4 tiles."""
    image = part.get("image_url")
    detail = image.get("detail") if isinstance(image, dict) else part.get("detail")
    mini = model.strip().lower().startswith("gpt-4o-mini")
    base = MINI_IMAGE_BASE_TOKENS if mini else IMAGE_LOW_DETAIL_TOKENS
    if detail == "low":
        return base
    return base + ESTIMATED_IMAGE_TILES * (MINI_IMAGE_TILE_TOKENS if mini else IMAGE_TILE_TOKENS)


def _count_str(value: Any, model: str, count: TextCounter) -> int:
    return count(value, model) if isinstance(value, str) else 0


def count_input(value: Any, model: str) -> int:
    """Tokens of an embeddings / moderations `input`: a string, a list of strings, a token array
    (list of ints) or a list of token arrays."""
    return _input(value, model, count_text)


def input_bound(value: Any, model: str) -> int:
    """At least `count_input(value, model)`, without a vocabulary."""
    return _input(value, model, text_bound)


def _input(value: Any, model: str, count: TextCounter) -> int:
    if isinstance(value, str):
        return count(value, model)
    if not isinstance(value, list):
        return 0
    total = 0
    for item in value:
        if isinstance(item, str):
            total += count(item, model)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += 1
        elif isinstance(item, list):
            total += len(item)
    return total


def approximate(text: str) -> int:
    """ApproximateTokenEnabled: ceil(0.38 tokens per character), in integers to avoid float noise."""
    return (len(text) * 38 + 99) // 100
