"""OpenAI's dashboard billing endpoints for a relay key (SPEC §1.2): what the key (or its user) may
spend and has spent, so balance-checking tools work against the gateway.

`DisplayTokenStatEnabled` chooses the key's figures over the user's; `DisplayInCurrencyEnabled`
turns quota into USD. Figures include the debits not yet written to the database.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from oneapi.relay.auth import Identity
from oneapi.relay.errors import RelayError
from oneapi.relay.pipeline import identify, request_id_of
from oneapi.services.live_balance import live_token, live_user_quota
from oneapi.state import AppState

UNLIMITED_USD = 100000000
DEFAULT_QUOTA_PER_UNIT = 500000.0


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _lookup_failed(message: str) -> Response:
    """One API answers a failed balance lookup with HTTP 200 and an OpenAI error body."""
    return _json({"error": {"message": message, "type": "upstream_error", "param": "", "code": ""}})


def _in_display_unit(state: AppState, quota: int) -> float:
    if not state.options.get_bool("DisplayInCurrencyEnabled"):
        return float(quota)
    return quota / (state.options.get_float("QuotaPerUnit") or DEFAULT_QUOTA_PER_UNIT)


async def _caller(request: Request) -> tuple[AppState, Identity]:
    state: AppState = request.app.state.oneapi
    return state, await identify(request, state)


async def subscription(request: Request) -> Response:
    try:
        state, identity = await _caller(request)
    except RelayError as err:
        return err.response(request_id_of(request))
    access_until = 0
    unlimited = False
    if state.options.get_bool("DisplayTokenStatEnabled"):
        token = await live_token(state.relay.writer, identity.token.id)
        if token is None:
            return _lookup_failed("token not found")
        total = int(token["remain_quota"]) + int(token["used_quota"])
        access_until = max(0, int(token["expired_time"] or 0))
        unlimited = bool(token["unlimited_quota"])
    else:
        quota, used = await live_user_quota(state.relay.writer, identity.user.id)
        total = quota + used
    amount = float(UNLIMITED_USD) if unlimited else _in_display_unit(state, total)
    return _json(
        {
            "object": "billing_subscription",
            "has_payment_method": True,
            "soft_limit_usd": amount,
            "hard_limit_usd": amount,
            "system_hard_limit_usd": amount,
            "access_until": access_until,
        }
    )


async def usage(request: Request) -> Response:
    """`total_usage` is in cents, as OpenAI's dashboard reports it."""
    try:
        state, identity = await _caller(request)
    except RelayError as err:
        return err.response(request_id_of(request))
    if state.options.get_bool("DisplayTokenStatEnabled"):
        token = await live_token(state.relay.writer, identity.token.id)
        if token is None:
            return _lookup_failed("token not found")
        used = int(token["used_quota"])
    else:
        _, used = await live_user_quota(state.relay.writer, identity.user.id)
    return _json({"object": "list", "total_usage": _in_display_unit(state, used) * 100})


BILLING_ROUTES = [
    Route(f"{prefix}/dashboard/billing/{name}", endpoint, methods=["GET"])
    for prefix in ("", "/v1")
    for name, endpoint in (("subscription", subscription), ("usage", usage))
]
