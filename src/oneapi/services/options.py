"""The options map: One API's runtime settings, held in memory, persisted in `options`.

Reads are dictionary lookups (no database on the hot path); writes validate, persist and apply at
once; `sync()` reloads from the database so other nodes pick changes up every SYNC_FREQUENCY s.
A sync never undoes a write this process made while the sync was reading.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import options as options_table
from oneapi.db.upsert import upsert
from oneapi.services.option_defaults import (
    BOOL_OPTIONS,
    FLOAT_OPTIONS,
    INT_OPTIONS,
    RATIO_OPTIONS,
    VALID_THEMES,
    default_values,
    is_secret,
)

log = logging.getLogger(__name__)


class OptionError(ValueError):
    """An option value that cannot be accepted; the message is shown to the operator."""


def ignores_empty(key: str, value: str, clear: bool) -> bool:
    """True when the console submits a blank secret: GET never shows secrets, so blank means
    "unchanged" unless the operator explicitly asks to clear it."""
    return is_secret(key) and not value.strip() and not clear


def normalized(key: str, value: str) -> str:
    """The value as stored: the retired theme name "default" is One API's "modern"."""
    return "modern" if key == "Theme" and value == "default" else value


def _check_bool(key: str, value: str) -> None:
    if value not in ("true", "false"):
        raise OptionError(f'{key} must be "true" or "false"')


def _check_int(key: str, value: str) -> None:
    try:
        int(value)
    except ValueError:
        raise OptionError(f"{key} must be an integer") from None


def _check_float(key: str, value: str) -> None:
    try:
        number = float(value)
    except ValueError:
        raise OptionError(f"{key} must be a number") from None
    if not math.isfinite(number):
        raise OptionError(f"{key} must be a finite number")


def parse_ratio_map(key: str, value: str) -> dict[str, float]:
    """A JSON object of name → non-negative number, or OptionError saying what is wrong."""
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise OptionError(f"{key} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise OptionError(f"{key} must be a JSON object mapping names to numbers")
    for name, ratio in data.items():
        if isinstance(ratio, bool) or not isinstance(ratio, int | float):
            raise OptionError(f"{key}: the value of {name!r} must be a number")
        if ratio < 0 or not math.isfinite(ratio):
            raise OptionError(f"{key}: the value of {name!r} must be a finite number >= 0")
    return {str(k): float(v) for k, v in data.items()}


class OptionStore:
    """The in-memory option map of one process, backed by the `options` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._values: dict[str, str] = default_values()
        self._ratios: dict[str, dict[str, float]] = {
            k: parse_ratio_map(k, v) for k, v in RATIO_OPTIONS.items()
        }
        self._writes = 0
        self._written_at: dict[str, int] = {}

    # reads -----------------------------------------------------------------------------------
    def get(self, key: str, default: str = "") -> str:
        return self._values.get(key, default)

    def get_bool(self, key: str) -> bool:
        return self._values.get(key, "") == "true"

    def get_int(self, key: str) -> int:
        try:
            return int(float(self._values.get(key, "0")))
        except ValueError:
            return INT_OPTIONS.get(key, 0)

    def get_float(self, key: str) -> float:
        try:
            return float(self._values.get(key, "0"))
        except ValueError:
            return FLOAT_OPTIONS.get(key, 0.0)

    def ratios(self, key: str) -> dict[str, float]:
        """The parsed JSON map of a ratio option (ModelRatio, CompletionRatio, GroupRatio)."""
        return self._ratios.get(key, {})

    def public_items(self) -> list[dict[str, str]]:
        """Every option except secrets, as One API's GET /api/option/ lists them."""
        return [{"key": k, "value": v} for k, v in sorted(self._values.items()) if not is_secret(k)]

    # writes ----------------------------------------------------------------------------------
    def validate(self, key: str, value: str) -> None:
        """Raise OptionError if `value` cannot be stored under `key` given the current options."""
        if key in BOOL_OPTIONS:
            _check_bool(key, value)
        elif key in INT_OPTIONS:
            _check_int(key, value)
        elif key in FLOAT_OPTIONS:
            _check_float(key, value)
        elif key in RATIO_OPTIONS:
            parse_ratio_map(key, value)
        elif key == "Theme" and value not in VALID_THEMES:
            raise OptionError("invalid theme")
        if value != "true":
            return
        requirements = {
            "GitHubOAuthEnabled": (
                ("GitHubClientId",),
                "Unable to enable GitHub OAuth, please fill in the GitHub Client Id and "
                "GitHub Client Secret first!",
            ),
            "EmailDomainRestrictionEnabled": (
                ("EmailDomainWhitelist",),
                "Unable to enable email domain restriction, please fill in the restricted "
                "email domains first!",
            ),
            "WeChatAuthEnabled": (
                ("WeChatServerAddress",),
                "Unable to enable WeChat login, please fill in the relevant configuration "
                "information for WeChat login first!",
            ),
            "TurnstileCheckEnabled": (
                ("TurnstileSiteKey",),
                "Unable to enable Turnstile verification, please fill in the relevant "
                "configuration information for Turnstile verification first!",
            ),
            "OidcEnabled": (
                ("OidcClientId",),
                "Unable to enable OIDC login, please fill in the OIDC Client Id and "
                "OIDC Client Secret first!",
            ),
        }
        if key in requirements:
            needed, message = requirements[key]
            if not all(self._values.get(k) for k in needed):
                raise OptionError(message)

    def apply(self, key: str, value: str) -> None:
        """Put a value into memory (already validated or read from the database)."""
        value = normalized(key, value)
        self._values[key] = value
        if key in RATIO_OPTIONS:
            try:
                self._ratios[key] = parse_ratio_map(key, value)
            except OptionError as exc:
                log.warning("ignoring stored option: %s", exc)

    async def update(self, key: str, value: str) -> None:
        """Validate, persist, then apply at once in this process."""
        self.validate(key, value)
        value = normalized(key, value)
        async with self._engine.begin() as conn:
            await upsert(conn, options_table, {"key": key, "value": value}, ["key"], ["value"])
        self._writes += 1
        self._written_at[key] = self._writes
        self.apply(key, value)

    async def sync(self) -> None:
        """Reload every stored option from the database, except keys written here meanwhile."""
        started = self._writes
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(options_table.c.key, options_table.c.value))).all()
        for key, value in rows:
            if key is not None and self._written_at.get(key, 0) <= started:
                self.apply(key, value if value is not None else "")

    def snapshot(self) -> dict[str, Any]:
        return dict(self._values)
