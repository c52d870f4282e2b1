"""The `/api/*` routes a relay key opens (SPEC §1.3, §5.9): what a request cost, external
consumption against the key, and the key's balance.

Key problems answer like the relay does (`{"error": …}` with 401/403). The key's own state is
judged per route: a disabled, expired or exhausted key may still read its balance and settle or
release its holds, but not open new charges.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from oneapi.api.auth import app_state
from oneapi.api.body import Body, parse_body
from oneapi.api.errors import ApiError, JsonResponse, ok
from oneapi.api.pagination import page_of
from oneapi.relay.auth import Identity, authenticate
from oneapi.relay.errors import RelayError
from oneapi.relay.pipeline import request_id_of
from oneapi.services.live_balance import live_token, live_user_quota
from oneapi.services.request_costs import cost_of
from oneapi.services.token_consume import (
    ConsumeError,
    ConsumeRequest,
    consume,
    list_transactions,
    settle_expired,
    transaction_dto,
)
from oneapi.services.tokens import token_dto
from oneapi.services.users_query import user_by
from oneapi.services.users_view import user_dto
from oneapi.state import AppState

router = APIRouter()

COST_NOT_FOUND = "failed to get cost by request id: record not found"


class ConsumeBody(Body):
    add_used_quota: int = 0
    add_reason: str = ""
    phase: str | None = None
    transaction_id: str | None = None
    final_used_quota: int | None = None
    timeout_seconds: int | None = None
    elapsed_time_ms: int | None = None


async def _key_holder(request: Request, state: AppState) -> Identity:
    """The key's token and user, whatever the token's status (each route judges that itself)."""
    client_ip = request.client.host if request.client else ""
    rt = state.relay
    return await authenticate(
        request.headers, client_ip, rt.accounts, rt.ledger, state.settings.token_key_prefix, usable_only=False
    )


async def _token_view(state: AppState, token_id: int) -> dict[str, Any]:
    row = await live_token(state.relay.writer, token_id)
    if row is None:
        raise ApiError("token not found")
    return row


@router.get("/api/cost/request/{request_id}", response_model=None)
async def request_cost(request_id: str, request: Request) -> dict[str, Any]:
    """Public and not enveloped, as in One API: anyone holding a request id may read its cost."""
    cost = await cost_of(app_state(request).db.main, request_id)
    if cost is None:
        return {"success": False, "message": COST_NOT_FOUND}
    return cost


@router.post("/api/token/consume", response_model=None)
async def consume_token(request: Request) -> Response:
    state = app_state(request)
    rid = request_id_of(request)
    try:
        identity = await _key_holder(request, state)
    except RelayError as err:
        return err.response(rid)
    await settle_expired(state, identity, rid)
    body = await parse_body(request, ConsumeBody)
    try:
        txn = await consume(state, identity, ConsumeRequest(**body.model_dump()), rid)
    except ConsumeError as exc:
        raise ApiError(str(exc)) from None
    token = await _token_view(state, identity.token.id)
    data = token_dto(token, state.settings.token_key_prefix)
    return JsonResponse(ok(data, transaction=transaction_dto(txn)))


@router.get("/api/token/balance", response_model=None)
async def token_balance(request: Request) -> Response:
    state = app_state(request)
    try:
        identity = await _key_holder(request, state)
    except RelayError as err:
        return err.response(request_id_of(request))
    token = await _token_view(state, identity.token.id)
    data = {
        "remain_quota": token["remain_quota"],
        "used_quota": token["used_quota"],
        "unlimited_quota": bool(token["unlimited_quota"]),
    }
    return JsonResponse(ok(data))


@router.get("/api/token/transactions", response_model=None)
async def token_transactions_list(request: Request) -> Response:
    """The key's external-billing transactions (POST /api/token/consume), newest first, paginated."""
    state = app_state(request)
    try:
        identity = await _key_holder(request, state)
    except RelayError as err:
        return err.response(request_id_of(request))
    page = page_of(request, state.settings.max_items_per_page)
    rows, total = await list_transactions(state.db.main, identity.token.id, page.offset, page.limit)
    return JsonResponse(ok(rows, total=total))


@router.get("/api/user/get-by-token", response_model=None)
async def user_by_token(request: Request) -> Response:
    """The key's owner (user DTO, live balance) and the key itself (token DTO)."""
    state = app_state(request)
    try:
        identity = await _key_holder(request, state)
    except RelayError as err:
        return err.response(request_id_of(request))
    row = await user_by(state.db.main, id=identity.user.id)
    if row is None:
        raise ApiError("User does not exist")
    user = user_dto(row)
    user["quota"], user["used_quota"] = await live_user_quota(state.relay.writer, identity.user.id)
    token = token_dto(await _token_view(state, identity.token.id), state.settings.token_key_prefix)
    return JsonResponse(ok({"user": user, "token": token}))
