"""/api/channel/pricing/{id} and /api/channel/default-pricing (admin): per-channel model prices."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from oneapi.api.auth import Caller, admin_auth, app_state
from oneapi.api.body import Body, parse_body
from oneapi.api.errors import ApiError, ok
from oneapi.services.channel_pricing import PricingError, default_pricing, get_pricing, set_pricing

router = APIRouter()


class PricingBody(Body):
    model_configs: dict[str, Any]


@router.get("/api/channel/default-pricing")
async def get_default_pricing(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    raw = request.query_params.get("type", "")
    if not raw.lstrip("-").isdigit():
        raise ApiError("type must be a channel type id")
    return ok({"model_configs": default_pricing(int(raw))})


@router.get("/api/channel/pricing/{channel_id:int}")
async def get_channel_pricing(
    channel_id: int, request: Request, caller: Caller = admin_auth
) -> dict[str, Any]:
    try:
        return ok({"model_configs": await get_pricing(app_state(request).db.main, channel_id)})
    except PricingError as exc:
        raise ApiError(str(exc)) from None


@router.put("/api/channel/pricing/{channel_id:int}")
async def put_channel_pricing(
    channel_id: int, request: Request, caller: Caller = admin_auth
) -> dict[str, Any]:
    state = app_state(request)
    body = await parse_body(request, PricingBody)
    try:
        await set_pricing(state.db.main, channel_id, body.model_configs)
    except PricingError as exc:
        raise ApiError(str(exc)) from None
    if state.relay is not None:
        state.relay.directory.invalidate()  # the relay prices from the channel it routes to
    return ok({"model_configs": body.model_configs})
