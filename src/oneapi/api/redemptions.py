"""/api/redemption/* (admin code CRUD), /api/user/topup (redeem) and /api/topup (admin credit).

SPEC §1.3, §2.7, §10.1. After a balance changes, the relay's cached account is dropped so the
next relay request reloads the balance (its ledger keeps the moves not yet written).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import Field

from oneapi.api.auth import Caller, admin_auth, app_state, user_auth
from oneapi.api.body import Body, parse_body
from oneapi.api.errors import ApiError, ok
from oneapi.api.pagination import order_of, page_of
from oneapi.db.tables import redemptions
from oneapi.services import redemptions as service
from oneapi.services.redemptions import FailureWindow, RedemptionError, quota_text, redemption_dto
from oneapi.state import AppState

log = logging.getLogger(__name__)
router = APIRouter()

T = TypeVar("T")
# Database integers are 64-bit: a larger number is a bad request, not a database error.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
TOO_MANY_FAILURES = "Too many failed redemption attempts, please try again in 10 minutes"
FAILURE_WINDOW_SECONDS = 600.0


class CreateBody(Body):
    name: str = ""
    count: Int64 = 0
    quota: Int64 = 100


class UpdateBody(Body):
    id: Int64 = 0
    name: str | None = None
    quota: Int64 | None = None
    status: Int64 | None = None


class RedeemBody(Body):
    key: str = ""


class TopupBody(Body):
    user_id: Int64 = 0
    quota: Int64 = 0
    remark: str = ""


async def _run(call: Awaitable[T]) -> T:
    """Await a service call, turning its RedemptionError into the `{success: false}` envelope."""
    try:
        return await call
    except RedemptionError as exc:
        raise ApiError(str(exc)) from None


async def _page(request: Request, keyword: str | None) -> dict[str, Any]:
    state = app_state(request)
    page = page_of(request, state.settings.max_items_per_page)
    rows, total = await service.list_redemptions(
        state.db.main,
        offset=page.offset,
        limit=page.limit,
        order=order_of(request, redemptions, service.SORTABLE),
        keyword=keyword,
    )
    return ok([redemption_dto(row) for row in rows], total=total)


@router.get("/api/redemption/")
async def list_redemptions(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    return await _page(request, None)


@router.get("/api/redemption/search")
async def search_redemptions(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    return await _page(request, request.query_params.get("keyword", ""))


@router.get("/api/redemption/{redemption_id:int}")
async def get_redemption(redemption_id: int, request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    row = await _run(service.get_redemption(app_state(request).db.main, redemption_id))
    return ok(redemption_dto(row))


@router.post("/api/redemption/")
async def create_redemptions(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    body = await parse_body(request, CreateBody)
    engine = app_state(request).db.main
    keys = await _run(service.create_redemptions(engine, caller.id, body.name, body.count, body.quota))
    return ok(keys)


@router.put("/api/redemption/")
async def update_redemption(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    body = await parse_body(request, UpdateBody)
    if body.id <= 0:
        raise ApiError("redemption id is required")
    row = await _run(
        service.update_redemption(
            app_state(request).db.main,
            body.id,
            name=body.name,
            quota=body.quota,
            status=body.status,
            status_only=bool(request.query_params.get("status_only")),
        )
    )
    return ok(redemption_dto(row))


@router.delete("/api/redemption/{redemption_id:int}")
async def delete_redemption(
    redemption_id: int, request: Request, caller: Caller = admin_auth
) -> dict[str, Any]:
    await _run(service.delete_redemption(app_state(request).db.main, redemption_id))
    return ok()


def _failures(request: Request) -> FailureWindow:
    """The worker's failed-redeem counter, created with the app's first redeem."""
    holder = request.app.state
    window: FailureWindow | None = getattr(holder, "redeem_failures", None)
    if window is None:
        limit = app_state(request).settings.redeem_failure_rate_limit
        window = FailureWindow(limit=limit, window=FAILURE_WINDOW_SECONDS)
        holder.redeem_failures = window
    return window


def _balance_lock(state: AppState) -> contextlib.AbstractAsyncContextManager[Any]:
    """The relay's lock around balance reloads and billing flushes (none without a relay)."""
    return state.relay.writer.lock if state.relay is not None else contextlib.nullcontext()


async def _forget_user(state: AppState, user_id: int) -> None:
    """Drop the relay's cached account; under its lock, so a reload already reading cannot
    store the old balance after this."""
    if state.relay is not None:
        async with state.relay.writer.lock:
            state.relay.accounts.forget_user(user_id)


async def _topup_log(state: AppState, user_id: int, username: str, quota: int, content: str) -> None:
    """The balance already changed: a failed log write is reported, not turned into a failure."""
    try:
        await service.write_topup_log(state.db.logs, user_id, username, quota, content)
    except Exception:
        log.exception("could not write the top-up log of user %d", user_id)


def _quota_text(state: AppState, quota: int) -> str:
    options = state.options
    return quota_text(quota, options.get_bool("DisplayInCurrencyEnabled"), options.get_float("QuotaPerUnit"))


@router.post("/api/user/topup")
async def redeem(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    state = app_state(request)
    failures = _failures(request)
    if failures.blocked(caller.id):
        raise ApiError(TOO_MANY_FAILURES, 429)
    body = await parse_body(request, RedeemBody)
    try:
        quota = await service.redeem(state.db.main, body.key, caller.id)
    except RedemptionError as exc:
        failures.record(caller.id)
        raise ApiError(str(exc)) from None
    await _forget_user(state, caller.id)
    content = f"Recharged {_quota_text(state, quota)} using redemption code"
    await _topup_log(state, caller.id, caller.username, quota, content)
    return ok(quota)


@router.post("/api/topup")
async def admin_topup(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    state = app_state(request)
    body = await parse_body(request, TopupBody)
    async with _balance_lock(state):
        unwritten = state.relay.ledger.unwritten_user(body.user_id).quota if state.relay is not None else 0
        username, new_quota = await _run(
            service.admin_topup(state.db.main, body.user_id, body.quota, unwritten)
        )
        if state.relay is not None:
            state.relay.accounts.forget_user(body.user_id)
    amount = _quota_text(state, abs(body.quota))
    default = f"Recharged via API {amount}" if body.quota > 0 else f"Deducted via API {amount}"
    content = body.remark.strip() or default
    await _topup_log(state, body.user_id, username, body.quota, content)
    return ok(new_quota)
