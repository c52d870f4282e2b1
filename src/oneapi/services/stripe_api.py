"""The two Stripe REST calls top-ups need, over plain aiohttp (no SDK): create and expire a
Checkout Session. Stripe takes form-encoded bodies with nested fields in bracket notation
(`line_items[0][price_data][currency]=usd`) and a Bearer secret key; an Idempotency-Key makes a
retried create return the session of the first attempt instead of a second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import orjson

TIMEOUT = aiohttp.ClientTimeout(total=30)


class StripeApiError(RuntimeError):
    """Stripe could not be reached or refused the call; the message is for the operator's log."""


def form_pairs(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested dicts and lists into Stripe's bracketed form fields, in order."""
    if isinstance(value, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            pairs += form_pairs(item, f"{prefix}[{key}]" if prefix else str(key))
        return pairs
    if isinstance(value, list | tuple):
        return [pair for i, item in enumerate(value) for pair in form_pairs(item, f"{prefix}[{i}]")]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, str(value))]


def _message(status: int, raw: bytes) -> str:
    try:
        error = orjson.loads(raw).get("error") or {}
        detail = error.get("message") or error.get("type") or ""
    except (orjson.JSONDecodeError, AttributeError):
        detail = raw[:200].decode(errors="replace")
    return f"Stripe answered HTTP {status}: {detail}"


async def _post(
    base_url: str, secret_key: str, path: str, params: Mapping[str, Any], idempotency_key: str = ""
) -> dict[str, Any]:
    headers = {
        "Authorization": f"Bearer {secret_key}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    body = urlencode(form_pairs(params))
    url = base_url.rstrip("/") + path
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.post(url, data=body.encode(), headers=headers) as resp,
        ):
            raw = await resp.read()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise StripeApiError(f"Stripe is unreachable: {exc!r}") from None
    if status >= 300:
        raise StripeApiError(_message(status, raw))
    try:
        answer = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise StripeApiError("Stripe answered with something other than JSON") from None
    if not isinstance(answer, dict):
        raise StripeApiError("Stripe answered with something other than a JSON object")
    return answer


async def create_checkout_session(
    base_url: str, secret_key: str, params: Mapping[str, Any], idempotency_key: str
) -> dict[str, Any]:
    """POST /v1/checkout/sessions; the session object (with `id` and `url`)."""
    return await _post(base_url, secret_key, "/v1/checkout/sessions", params, idempotency_key)


async def expire_checkout_session(base_url: str, secret_key: str, session_id: str) -> None:
    """POST /v1/checkout/sessions/{id}/expire: the session can no longer be paid."""
    path = f"/v1/checkout/sessions/{quote(session_id, safe='')}/expire"
    await _post(base_url, secret_key, path, {})
