"""Prices and quota formulas (SPEC §5): pure functions, no I/O, so every relay path bills alike.

Quota is One API's integer unit: 500000 quota = 1 USD. A model's `Price` is resolved from, in
order, the channel's `model_configs` entry, the ModelRatio / CompletionRatio options, and the
built-in table (services.price_table), with a fallback for models nobody priced.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from oneapi.services.price_table import (
    IMAGE_QUALITY_MULTIPLIERS,
    IMAGE_SIZE_RATIOS,
    IMAGE_USD,
    MODEL_PRICES,
    PER_CALL_USD,
)

QUOTA_PER_USD = 500_000
FALLBACK_RATIO = 1.25  # $2.50 per 1M input tokens
FALLBACK_COMPLETION_RATIO = 1.0
QUOTA_PER_UNIT_RATIO = 1000  # per-image / per-call models: one unit costs ratio × 1000 quota
DEFAULT_IMAGE_SIZE = "1024x1024"
DEFAULT_AUDIO_TOKENS_PER_SECOND = 10

_DATE_SUFFIX = re.compile(r"[-@](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$")
_NAME_BOUNDARIES = "-:@"
_KNOWN_BY_LENGTH = tuple(sorted(MODEL_PRICES, key=len, reverse=True))
_IMAGE_QUALITY_ALIASES = {"auto": "medium", "standard": "medium", "hd": "high"}


@dataclass(frozen=True)
class Price:
    """A model's ratios. Cached-input and cache-write ratios are absolute (same unit as
    model_ratio): 0 = charge the normal input price, negative = free."""

    model_ratio: float
    completion_ratio: float = 1.0
    cached_input_ratio: float = 0.0
    cache_write_5m_ratio: float = 0.0
    cache_write_1h_ratio: float = 0.0


@dataclass
class Usage:
    """Token usage of one request. `cached_tokens` and the cache writes are part of
    `prompt_tokens` for OpenAI-style usage and separate buckets for Anthropic-style usage."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0


class ImageOptionError(ValueError):
    """An image size or quality the model does not offer; the message is shown to the caller."""


def price_of(
    model: str,
    *,
    model_ratio_overrides: Mapping[str, float],
    completion_ratio_overrides: Mapping[str, float],
    channel_model_configs: Mapping[str, Any] | None = None,
) -> Price:
    """The price of `model`. A channel `model_configs[model]` entry is used as a whole (its cache
    ratios only; a zero or missing ratio / completion_ratio falls back to the layers below);
    otherwise the option maps (exact names) override the built-in ratios, whose cache ratios stay."""
    builtin = builtin_price(model)
    ratio = _number(model_ratio_overrides.get(model), builtin.model_ratio)
    completion = _number(completion_ratio_overrides.get(model), builtin.completion_ratio)
    config = channel_model_configs.get(model) if channel_model_configs else None
    if not isinstance(config, Mapping):
        if ratio == builtin.model_ratio and completion == builtin.completion_ratio:
            return builtin  # the common case, once per request and again at settlement: no copy
        return replace(builtin, model_ratio=ratio, completion_ratio=completion)
    return Price(
        model_ratio=_number(config.get("ratio"), 0.0) or ratio,
        completion_ratio=_number(config.get("completion_ratio"), 0.0) or completion,
        cached_input_ratio=_number(config.get("cached_input_ratio"), 0.0),
        cache_write_5m_ratio=_number(config.get("cache_write_5m_ratio"), 0.0),
        cache_write_1h_ratio=_number(config.get("cache_write_1h_ratio"), 0.0),
    )


@lru_cache(maxsize=4096)
def builtin_price(model: str) -> Price:
    """The built-in table's price: exact name, then without a date suffix, then the longest known
    prefix ending at a `-`, `:` or `@`; a `vendor/` prefix is ignored; else the fallback."""
    name = model.strip().lower()
    candidates = [name, name.rsplit("/", 1)[1]] if "/" in name else [name]
    for candidate in candidates:
        entry = _table_entry(candidate)
        if entry is not None:
            return Price(
                model_ratio=float(entry.get("ratio", FALLBACK_RATIO)),
                completion_ratio=float(entry.get("completion_ratio", FALLBACK_COMPLETION_RATIO)),
                cached_input_ratio=float(entry.get("cached_input_ratio", 0.0)),
                cache_write_5m_ratio=float(entry.get("cache_write_5m_ratio", 0.0)),
                cache_write_1h_ratio=float(entry.get("cache_write_1h_ratio", 0.0)),
            )
    return Price(FALLBACK_RATIO, FALLBACK_COMPLETION_RATIO)


def _table_entry(name: str) -> dict[str, float] | None:
    for key in (name, _DATE_SUFFIX.sub("", name)):
        if key in MODEL_PRICES:
            return MODEL_PRICES[key]
    for known in _KNOWN_BY_LENGTH:
        if name.startswith(known) and name[len(known) : len(known) + 1] in _NAME_BOUNDARIES:
            return MODEL_PRICES[known]
    return None


def _number(value: Any, default: float) -> float:
    if value is None:  # no override: the usual case on the relay path
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return default
    return float(value)


def group_ratio(group: str, group_ratios: Mapping[str, float]) -> float:
    """The GroupRatio option's multiplier for `group`; unknown groups pay 1."""
    return _number(group_ratios.get(group), 1.0)


def text_quota(
    usage: Usage, price: Price, group_ratio: float, *, prompt_excludes_cache: bool, tools_cost: int = 0
) -> int:
    """The fork's token formula (SPEC §5.3). Cached prompt tokens cost the cached-input price,
    cache writes their own; for OpenAI-style usage they are carved out of prompt_tokens (writes
    trimmed to fit, 1-hour first), for Anthropic-style usage (`prompt_excludes_cache`, or buckets
    larger than the prompt) they are extra. The float arithmetic follows the fork's operation order
    so results match One API's to the unit. No tokens at all → only `tools_cost`."""
    prompt = max(usage.prompt_tokens, 0)
    completion = max(usage.completion_tokens, 0)
    cached = max(usage.cached_tokens, 0)
    write_5m = max(usage.cache_write_5m_tokens, 0)
    write_1h = max(usage.cache_write_1h_tokens, 0)
    input_price = price.model_ratio * group_ratio
    output_price = price.model_ratio * price.completion_ratio * group_ratio

    non_cached = prompt
    if not (prompt_excludes_cache or cached > prompt or write_5m + write_1h > prompt):
        non_cached = prompt - cached
        excess = write_5m + write_1h - non_cached
        if excess > 0:
            trimmed_1h = min(write_1h, excess)
            write_1h -= trimmed_1h
            write_5m -= min(write_5m, excess - trimmed_1h)
            non_cached = 0
        else:
            non_cached -= write_5m + write_1h
    if non_cached + cached + write_5m + write_1h + completion == 0:
        return tools_cost

    cost = (
        non_cached * input_price
        + cached * _bucket_price(price.cached_input_ratio, input_price, group_ratio)
        + completion * output_price
        + write_5m * _bucket_price(price.cache_write_5m_ratio, input_price, group_ratio)
        + write_1h * _bucket_price(price.cache_write_1h_ratio, input_price, group_ratio)
    )
    quota = math.ceil(cost) + tools_cost
    if input_price != 0 and quota <= 0:
        return 1
    return quota


def _bucket_price(ratio: float, input_price: float, group_ratio: float) -> float:
    if ratio < 0:
        return 0.0
    return ratio * group_ratio if ratio > 0 else input_price


def pre_consume_quota(
    prompt_tokens: int, max_tokens: int, price: Price, group_ratio: float, pre_consumed_quota: int
) -> int:
    """The reservation before calling upstream (SPEC §5.5, fork): the PreConsumedQuota allowance
    plus the prompt at the input price, plus the requested output budget at the output price."""
    input_price = price.model_ratio * group_ratio
    return int(
        (pre_consumed_quota + prompt_tokens) * input_price
        + max(max_tokens, 0) * input_price * price.completion_ratio
    )


def image_quota(
    model: str, *, size: str | None, quality: str | None, n: int, price: Price, group_ratio: float
) -> int:
    """Quota for `n` generated images (SPEC §5.7). Per-image USD models (gpt-image-1) use their
    quality × size table; dall-e style models pay ratio × size ratio × quality multiplier × 1000;
    other models pay ratio × 1000 per image whatever the size. Raises ImageOptionError for a size
    or quality the model does not offer. A missing or "auto" size means 1024x1024."""
    name = model.strip().lower()
    chosen_size = (size or "").strip().lower()
    chosen_size = DEFAULT_IMAGE_SIZE if chosen_size in ("", "auto") else chosen_size
    chosen_quality = (quality or "").strip().lower()
    count = max(n, 1)
    usd_table = IMAGE_USD.get(name)
    if usd_table is not None:
        by_size = usd_table.get(_IMAGE_QUALITY_ALIASES.get(chosen_quality or "auto", chosen_quality))
        if by_size is None:
            raise ImageOptionError(f"quality {quality!r} is not supported by {model}")
        usd = by_size.get(chosen_size)
        if usd is None:
            raise ImageOptionError(f"size {chosen_size} is not supported by {model}")
        return _ceil(usd * QUOTA_PER_USD * group_ratio) * count
    sizes = IMAGE_SIZE_RATIOS.get(name)
    size_ratio = 1.0 if sizes is None else sizes.get(chosen_size, 0.0)
    if size_ratio == 0:
        raise ImageOptionError(f"size {chosen_size} is not supported by {model}")
    multipliers = IMAGE_QUALITY_MULTIPLIERS.get(name, {}).get(chosen_quality, {})
    quality_multiplier = multipliers.get(chosen_size, multipliers.get("*", 1.0))
    per_image = price.model_ratio * group_ratio * size_ratio * quality_multiplier * QUOTA_PER_UNIT_RATIO
    return _ceil(per_image) * count


def tts_quota(characters: int, price: Price, group_ratio: float) -> int:
    """Text-to-speech: one input character costs the model ratio (tts-1 7.5 = $15 per 1M chars)."""
    return _ceil(max(characters, 0) * price.model_ratio * group_ratio)


def stt_quota(
    seconds: float,
    price: Price,
    group_ratio: float,
    tokens_per_second: float = DEFAULT_AUDIO_TOKENS_PER_SECOND,
) -> int:
    """Speech-to-text: the audio's duration as tokens (tokens_per_second, 10 by default), each at
    the model ratio."""
    tokens = _ceil(max(seconds, 0.0) * tokens_per_second)
    return _ceil(tokens * price.model_ratio * group_ratio)


def per_call_quota(model: str, price: Price, group_ratio: float, calls: int = 1) -> int:
    """Per-call models (rerank): the table's USD per call, else ratio × 1000 per call."""
    usd = PER_CALL_USD.get(model.strip().lower())
    per_call = usd * QUOTA_PER_USD if usd is not None else price.model_ratio * QUOTA_PER_UNIT_RATIO
    return _ceil(per_call * group_ratio) * max(calls, 0)


def usd_to_quota(usd: float) -> int:
    return _ceil(usd * QUOTA_PER_USD)


def quota_to_usd(quota: int) -> float:
    return quota / QUOTA_PER_USD


def _ceil(value: float) -> int:
    """Ceil that ignores float noise (0.011 × 500000 × 1.1 must be 6050, not 6051)."""
    return math.ceil(round(value, 6))
