"""Local token counting, for reservations and for upstreams that report no usage (SPEC §5.4, §5.8).

Encoders (bpe-openai, offline): cl100k_base for the gpt-3.5 / gpt-4 (incl. -turbo, -32k) families
and OpenAI's older embedding and completion models, o200k_base for everything else (gpt-4o, 4.1,
5, the o-series and any newer or foreign model). Each encoder is built once per process, which
takes about a second; call `warm_up()` from a worker thread at startup so no request pays for it.

Event-loop guard: encoding runs on the calling thread at roughly 20-50 MB/s. A text longer than
MAX_ENCODED_CHARS (200k characters) is not encoded whole: three SAMPLE_CHARS slices (start,
middle, end) are counted and the result scaled by length, so one call stays within a few
milliseconds whatever the input size.
"""

from __future__ import annotations

import math
import threading
import warnings
from typing import Any

import bpe_openai
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


def encoding_name(model: str) -> str:
    name = model.strip().lower().rsplit("/", 1)[-1]
    if name == "gpt-4" or name.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return "o200k_base"


def warm_up() -> None:
    """Build both encoders now (blocking, ~1 s each) instead of on the first request."""
    for name in ("o200k_base", "cl100k_base"):
        _encoder(name)


def _encoder(name: str) -> Any:
    encoder = _encoders.get(name)
    if encoder is None:
        with _encoders_lock:
            encoder = _encoders.get(name)
            if encoder is None:
                with warnings.catch_warnings():  # the library reads its data with a deprecated call
                    warnings.simplefilter("ignore", DeprecationWarning)
                    encoder = _encoders[name] = bpe_openai.get_encoding(name)
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
    except bpe_openai.TokenLimitError as exc:  # more tokens than the library returns at once
        return int(exc.token_count)


def count_chat_prompt(messages: list[Any], model: str, tools: Any = None) -> int:
    """Prompt tokens of a chat request: per message 3 + role + content + name (+1) + tool calls,
    3 more to prime the reply, plus the `tools` definitions as JSON. Images are not fetched:
    a low-detail image counts 85 tokens, any other a 1024×1024 high-detail estimate (765)."""
    legacy = model.strip().lower().startswith(LEGACY_CHAT_MODEL)
    per_message = LEGACY_TOKENS_PER_MESSAGE if legacy else TOKENS_PER_MESSAGE
    per_name = LEGACY_TOKENS_PER_NAME if legacy else TOKENS_PER_NAME
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += per_message + _count_str(message.get("role"), model)
        total += _count_content(message.get("content"), model)
        name = message.get("name")
        if isinstance(name, str) and name:
            total += per_name + count_text(name, model)
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                total += _count_str(function.get("name"), model)
                total += _count_str(function.get("arguments"), model)
    if tools:
        total += count_text(orjson.dumps(tools).decode(), model)
    return total


def _count_content(content: Any, model: str) -> int:
    if isinstance(content, str):
        return count_text(content, model)
    if not isinstance(content, list):
        return 0
    total = 0
    for part in content:
        if isinstance(part, str):
            total += count_text(part, model)
        elif isinstance(part, dict):
            if part.get("type") in ("image_url", "image"):
                total += image_tokens(part, model)
            else:
                total += _count_str(part.get("text"), model)
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


def _count_str(value: Any, model: str) -> int:
    return count_text(value, model) if isinstance(value, str) else 0


def count_input(value: Any, model: str) -> int:
    """Tokens of an embeddings / moderations `input`: a string, a list of strings, a token array
    (list of ints) or a list of token arrays."""
    if isinstance(value, str):
        return count_text(value, model)
    if not isinstance(value, list):
        return 0
    total = 0
    for item in value:
        if isinstance(item, str):
            total += count_text(item, model)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += 1
        elif isinstance(item, list):
            total += len(item)
    return total


def approximate(text: str) -> int:
    """ApproximateTokenEnabled: ceil(0.38 tokens per character), in integers to avoid float noise."""
    return (len(text) * 38 + 99) // 100
