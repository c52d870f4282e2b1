"""/api/log/*, /api/token/logs and /api/user/dashboard (SPEC §1.3 Logs, §10.2).

Admins see every row; `/self` routes and the dashboard are forced to the caller's own rows (by
user id), and `/api/token/logs` to the rows of the relay key presented.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from oneapi.api.auth import Caller, admin_auth, app_state, user_auth
from oneapi.api.errors import ApiError, JsonResponse, ok
from oneapi.api.pagination import page_of
from oneapi.relay.errors import RelayError
from oneapi.relay.pipeline import identify, request_id_of
from oneapi.services import dashboard as dash
from oneapi.services import logs as service
from oneapi.services.logs import LogFilters

router = APIRouter()

TARGET_REQUIRED = "target timestamp is required"


def _int(request: Request, *names: str) -> int:
    """An integer query parameter as One API reads it: missing or malformed is 0."""
    for name in names:
        raw = request.query_params.get(name)
        if raw:
            try:
                return int(raw)
            except ValueError:
                return 0
    return 0


def _filters(request: Request) -> LogFilters:
    q = request.query_params
    return LogFilters(
        type=_int(request, "type"),
        model_name=q.get("model_name", ""),
        username=q.get("username", ""),
        token_name=q.get("token_name", ""),
        channel=_int(request, "channel", "channel_id"),
        start=_int(request, "start_timestamp"),
        end=_int(request, "end_timestamp"),
    )


def _own(request: Request, caller: Caller) -> LogFilters:
    """The caller's rows only: whatever the query says, the user is the caller."""
    return replace(_filters(request), username="", user_id=caller.id)


async def _page(request: Request, f: LogFilters, sortable: bool = True) -> dict[str, Any]:
    state = app_state(request)
    q = request.query_params
    sort = (q.get("sort") or q.get("sort_by") or "") if sortable else ""
    direction = (q.get("order") or q.get("sort_order") or "desc").lower()
    try:
        order = service.order_by(sort, direction, f)
    except service.LogError as exc:
        raise ApiError(str(exc)) from None
    page = page_of(request, state.settings.max_items_per_page)
    data, total = await service.log_page(state.db.logs, state.db.main, f, order, page.offset, page.limit)
    return ok(data, total=total)


@router.get("/api/log/")
async def all_logs(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    return await _page(request, _filters(request))


@router.get("/api/log/search")
async def search_all_logs(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    return await _page(request, LogFilters(keyword=request.query_params.get("keyword", "")))


@router.get("/api/log/self")
async def own_logs(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    return await _page(request, _own(request, caller))


@router.get("/api/log/self/search")
async def search_own_logs(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    keyword = request.query_params.get("keyword", "")
    return await _page(request, LogFilters(user_id=caller.id, keyword=keyword))


@router.get("/api/log/stat")
async def logs_stat(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    quota = await service.sum_quota(app_state(request).db.logs, _filters(request))
    return ok({"quota": quota})


@router.get("/api/log/self/stat")
async def own_logs_stat(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    quota = await service.sum_quota(app_state(request).db.logs, _own(request, caller))
    return ok({"quota": quota})


@router.delete("/api/log/")
async def delete_history(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    target = _int(request, "target_timestamp")
    if target == 0:
        raise ApiError(TARGET_REQUIRED)
    return ok(await service.delete_before(app_state(request).db.logs, target))


@router.get("/api/token/logs", response_model=None)
async def token_logs(request: Request) -> Response:
    """The rows of the relay key presented (and of its user); relay-style errors for a bad key."""
    state = app_state(request)
    try:
        identity = await identify(request, state)
    except RelayError as err:
        return err.response(request_id_of(request))
    f = replace(
        _filters(request),
        username="",
        channel=0,
        user_id=identity.user.id,
        token_id=identity.token.id,
        token_name=identity.token.name,
    )
    return JsonResponse(await _page(request, f, sortable=False))


@router.get("/api/user/dashboard")
async def user_dashboard(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    state = app_state(request)
    q = request.query_params
    try:
        days = dash.days_of(q.get("from_date", ""), q.get("to_date", ""), caller.role)
        user_id = await dash.target_of(state.db.main, caller.id, caller.role, q.get("user_id", ""))
    except dash.DashboardError as exc:
        raise ApiError(str(exc)) from None
    return ok(await dash.dashboard(state.db.logs, user_id, days))
