"""/api/token/*: the caller's own relay keys (SPEC §1.3 Tokens, §3.5)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from fastapi import APIRouter, Request

from oneapi.api.auth import Caller, app_state, user_auth
from oneapi.api.body import Body, parse_body
from oneapi.api.errors import ApiError, ok
from oneapi.api.pagination import order_of, page_of
from oneapi.db.tables import tokens as tokens_table
from oneapi.services import tokens as service
from oneapi.services.tokens import LEGACY_ORDER, SORTABLE, TokenError, TokenFields, token_dto
from oneapi.state import AppState

router = APIRouter()

T = TypeVar("T")


class TokenBody(Body):
    """The fields a client may set on a token (POST and PUT)."""

    name: str | None = None
    expired_time: int | None = None
    remain_quota: int | None = None
    unlimited_quota: bool | None = None
    models: str | None = None
    subnet: str | None = None

    def fields(self) -> TokenFields:
        return TokenFields(**self.model_dump(exclude={"id"}))


class TokenUpdateBody(TokenBody):
    id: int | None = None
    status: int | None = None


async def _run(call: Awaitable[T]) -> T:
    """Await a service call, turning its TokenError into the `{success: false}` envelope."""
    try:
        return await call
    except TokenError as exc:
        raise ApiError(str(exc)) from None


async def _page(request: Request, caller: Caller, keyword: str | None) -> dict[str, Any]:
    state = app_state(request)
    page = page_of(request, state.settings.max_items_per_page)
    rows, total = await service.list_tokens(
        state.db.main,
        caller.id,
        order=order_of(request, tokens_table, SORTABLE, LEGACY_ORDER),
        offset=page.offset,
        limit=page.limit,
        keyword=keyword,
    )
    prefix = state.settings.token_key_prefix
    return ok([token_dto(row, prefix) for row in rows], total=total)


@router.get("/api/token/")
async def list_tokens(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    return await _page(request, caller, None)


@router.get("/api/token/search")
async def search_tokens(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    return await _page(request, caller, request.query_params.get("keyword", ""))


@router.get("/api/token/{token_id:int}")
async def get_token(token_id: int, request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    state = app_state(request)
    row = await _run(service.get_token(state.db.main, caller.id, token_id))
    return ok(token_dto(row, state.settings.token_key_prefix))


@router.post("/api/token/")
async def create_token(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    state = app_state(request)
    body = await parse_body(request, TokenBody)
    row = await _run(service.create_token(state.db.main, caller.id, body.fields()))
    return ok(token_dto(row, state.settings.token_key_prefix))


@router.put("/api/token/")
async def update_token(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    state = app_state(request)
    body = await parse_body(request, TokenUpdateBody)
    if body.id is None:
        raise ApiError("token id is required")
    status_only = bool(request.query_params.get("status_only"))
    row = await _run(
        service.update_token(state.db.main, caller.id, body.id, body.fields(), status_only=status_only)
    )
    _forget(state, row["key"])
    return ok(token_dto(row, state.settings.token_key_prefix))


@router.delete("/api/token/{token_id:int}")
async def delete_token(token_id: int, request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    state = app_state(request)
    row = await _run(service.get_token(state.db.main, caller.id, token_id))
    await _run(service.delete_token(state.db.main, caller.id, token_id))
    _forget(state, row["key"])
    return ok()


def _forget(state: AppState, key: str | None) -> None:
    """The relay caches tokens: a changed or deleted key must be read afresh at once."""
    if state.relay is not None and key:
        state.relay.accounts.forget_token(key)
