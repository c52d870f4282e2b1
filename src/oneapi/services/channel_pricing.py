"""A channel's own prices (`model_configs`, the fork's per-channel pricing) and the built-in defaults.

The relay reads `model_configs[model]` before any other price (services/pricing.price_of), so an
operator can price one channel's models apart from the global table.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import channels
from oneapi.services.channel_types import models_by_type
from oneapi.services.keys import now_ms
from oneapi.services.pricing import builtin_price

RATIO_KEYS = (
    "ratio",
    "completion_ratio",
    "cached_input_ratio",
    "cache_write_5m_ratio",
    "cache_write_1h_ratio",
)
MAY_BE_NEGATIVE = {"cached_input_ratio"}  # negative = cached input is free


class PricingError(ValueError):
    """A price the operator gave that cannot be stored; the message says which and why."""


def default_pricing(type_id: int) -> dict[str, dict[str, float]]:
    """The built-in prices of the models a channel type is known to serve."""
    out: dict[str, dict[str, float]] = {}
    for model in models_by_type().get(type_id, []):
        price = builtin_price(model)
        out[model] = {
            "ratio": price.model_ratio,
            "completion_ratio": price.completion_ratio,
            "cached_input_ratio": price.cached_input_ratio,
            "cache_write_5m_ratio": price.cache_write_5m_ratio,
            "cache_write_1h_ratio": price.cache_write_1h_ratio,
        }
    return out


def checked_configs(value: Any) -> dict[str, Any]:
    """`value` as model → config; ratios must be finite numbers (≥ 0 except cached input)."""
    if not isinstance(value, dict):
        raise PricingError("model_configs must be a JSON object mapping model names to their prices")
    for model, config in value.items():
        if not isinstance(config, dict):
            raise PricingError(f"model_configs[{model!r}] must be an object")
        for key in RATIO_KEYS:
            if key not in config:
                continue
            number = config[key]
            if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
                raise PricingError(f"model_configs[{model!r}].{key} must be a number")
            if number < 0 and key not in MAY_BE_NEGATIVE:
                raise PricingError(f"model_configs[{model!r}].{key} must be >= 0")
    return value


async def get_pricing(engine: AsyncEngine, channel_id: int) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(channels.c.model_configs).where(channels.c.id == channel_id))
        ).first()
    if row is None:
        raise PricingError(f"Channel {channel_id} does not exist")
    try:
        configs = orjson.loads(row[0]) if row[0] else {}
    except orjson.JSONDecodeError:
        configs = {}
    return configs if isinstance(configs, dict) else {}


async def set_pricing(engine: AsyncEngine, channel_id: int, configs: dict[str, Any]) -> None:
    text = orjson.dumps(checked_configs(configs)).decode() if configs else ""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(channels)
            .where(channels.c.id == channel_id)
            .values(model_configs=text, updated_at=now_ms())
        )
    if result.rowcount == 0:
        raise PricingError(f"Channel {channel_id} does not exist")
