"""/api/admin/tokens/* (admin, read-only): any user's relay keys, as the fork's console shows them.

The view shows whole keys, so an admin sees only keys of users with a strictly lower role; root
sees every key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from oneapi.api.auth import Caller, admin_auth, app_state
from oneapi.api.errors import ApiError, ok
from oneapi.api.pagination import order_of, page_of
from oneapi.db.tables import tokens as tokens_table
from oneapi.services import tokens as service
from oneapi.services.roles import ROLE_ROOT
from oneapi.services.tokens import LEGACY_ORDER, SORTABLE, TokenError, token_dto

router = APIRouter()


def _below(caller: Caller) -> int | None:
    return None if caller.role >= ROLE_ROOT else caller.role


async def _page(request: Request, caller: Caller, keyword: str | None) -> dict[str, Any]:
    state = app_state(request)
    raw_user = request.query_params.get("user_id", "")
    if raw_user and not raw_user.isdigit():
        raise ApiError("user_id must be a user id")
    page = page_of(request, state.settings.max_items_per_page)
    rows, total = await service.list_tokens(
        state.db.main,
        int(raw_user) if raw_user else None,
        order=order_of(request, tokens_table, SORTABLE, LEGACY_ORDER),
        offset=page.offset,
        limit=page.limit,
        keyword=keyword,
        below_role=_below(caller),
    )
    prefix = state.settings.token_key_prefix
    return ok([token_dto(row, prefix) for row in rows], total=total)


@router.get("/api/admin/tokens/")
async def admin_list_tokens(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    return await _page(request, caller, None)


@router.get("/api/admin/tokens/search")
async def admin_search_tokens(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    return await _page(request, caller, request.query_params.get("keyword", ""))


@router.get("/api/admin/tokens/{token_id:int}")
async def admin_get_token(token_id: int, request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    state = app_state(request)
    try:
        row = await service.get_any_token(state.db.main, token_id, _below(caller))
    except TokenError as exc:
        raise ApiError(str(exc)) from None
    return ok(token_dto(row, state.settings.token_key_prefix))
