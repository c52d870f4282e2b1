"""Turn an upstream failure into a RelayError (SPEC §4.6) and decide what it means for the channel."""

from __future__ import annotations

from typing import Any

import orjson

from oneapi.relay.errors import RelayError

RETRY_HINTS = (
    "retry your request",
    "try again",
    "overloaded",
    "temporarily unavailable",
    "server is busy",
    "high load",
    "capacity limit",
)
AUTH_TYPES = {"authentication_error", "permission_error", "insufficient_quota", "forbidden"}
AUTH_CODES = {"invalid_api_key", "account_deactivated", "insufficient_quota"}
DISABLE_HINTS = (
    "your access was terminated",
    "violation of our policies",
    "your credit balance is too low",
    "organization has been disabled",
    "credit",
    "balance",
    "permission denied",
    "organization has been restricted",
    "api key not valid",
    "api key expired",
    "insufficient balance",
    "已欠费",
)


def upstream_error(status: int, body: bytes) -> RelayError:
    """The upstream's own error object when it has one, else a message found in the body."""
    error: dict[str, Any] = {}
    try:
        parsed = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        inner = parsed.get("error")
        if isinstance(inner, dict) and inner.get("message"):
            error = inner
        else:
            for field in ("message", "msg", "err", "error_msg"):
                if isinstance(parsed.get(field), str) and parsed[field]:
                    error = {"message": parsed[field]}
                    break
            if not error and isinstance(inner, str) and inner:
                error = {"message": inner}
    message = str(error.get("message") or f"bad response status code {status}")
    err_type = str(error.get("type") or "upstream_error")
    code = error.get("code")
    return RelayError(
        status,
        message,
        str(code) if code not in (None, "") else "bad_response_status_code",
        type=err_type,
        param=str(error.get("param") or status),
    )


def is_auth_failure(err: RelayError) -> bool:
    text = err.message.lower()
    return (
        err.status in (401, 403)
        or err.type in AUTH_TYPES
        or err.code in AUTH_CODES
        or "invalid api key" in text
        or "api key not valid" in text
    )


def should_disable(err: RelayError) -> bool:
    """One API's ShouldDisableChannel (the option switch is checked by the caller)."""
    if err.status == 401 or err.type in AUTH_TYPES:
        return True
    if err.code in ("invalid_api_key", "account_deactivated"):
        return True
    text = err.message.lower()
    return any(hint in text for hint in DISABLE_HINTS)


def is_retryable(err: RelayError) -> bool:
    """Try another channel after 429, 5xx, 401/403/413 from upstream; never after other 4xx."""
    if err.type == "one_api_error" and err.status < 500:
        return False
    return err.status == 429 or err.status >= 500 or err.status in (401, 403, 413, 408)


def suggests_retry(err: RelayError) -> bool:
    text = err.message.lower()
    return any(hint in text for hint in RETRY_HINTS)
