"""/api/channel/test and /api/channel/update_balance: channel health for administrators (SPEC §4.5, §7.2).

Thin: the work is in services/channel_test.py and services/channel_balance.py. A single test
answers One API's flat `{success, message, time, modelName}`, a balance `{success, message,
balance}`; the sweeps over all channels run in the background and answer at once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from oneapi.api.auth import Caller, admin_auth, app_state
from oneapi.api.errors import ApiError, ok
from oneapi.services import channel_balance, channel_test

router = APIRouter()


@router.get("/api/channel/test")
async def test_all_channels(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    scope = request.query_params.get("scope", "").strip() or "all"
    if scope not in channel_test.SCOPES:
        raise ApiError("scope must be one of: " + ", ".join(channel_test.SCOPES))
    if not channel_test.start_sweep(app_state(request), scope):
        raise ApiError("Test is already running")
    return ok()


@router.get("/api/channel/test/{channel_id:int}")
async def test_one_channel(request: Request, channel_id: int, caller: Caller = admin_auth) -> dict[str, Any]:
    model = request.query_params.get("model", "")
    try:
        result = await channel_test.test_channel(app_state(request), channel_id, model)
    except channel_test.ChannelTestError as exc:
        raise ApiError(str(exc)) from None
    return result.body()


@router.get("/api/channel/update_balance")
async def update_all_balances(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    channel_balance.start_balance_refresh(app_state(request))
    return ok()


@router.get("/api/channel/update_balance/{channel_id:int}")
async def update_one_balance(
    request: Request, channel_id: int, caller: Caller = admin_auth
) -> dict[str, Any]:
    try:
        balance = await channel_balance.update_balance(app_state(request), channel_id)
    except channel_balance.BalanceError as exc:
        raise ApiError(str(exc)) from None
    return ok(balance=balance)
