"""Administrators' /api/user/ routes: list, search, view, create, edit, delete, manage (SPEC §1.3, §3.3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import Field

from oneapi.api.auth import Caller, admin_auth, app_state
from oneapi.api.body import Body, parse_body
from oneapi.api.errors import ApiError, ok
from oneapi.api.pagination import order_of, page_of
from oneapi.api.users import INVALID, forget_user, refusals
from oneapi.db.tables import users
from oneapi.services import user_admin
from oneapi.services import users as accounts
from oneapi.services.user_admin import Actor, UserChanges
from oneapi.services.users_view import user_dto

router = APIRouter()

# Database integers are 64-bit: a larger number is a bad request, not a database error.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class CreateBody(Body):
    username: str = ""
    password: str = ""
    display_name: str = ""
    email: str = ""
    role: Int64 = 0
    quota: Int64 = 0
    group: str = ""


class UpdateBody(Body):
    id: Int64 = 0
    username: str | None = None
    password: str | None = None
    display_name: str | None = None
    email: str | None = None
    quota: Int64 | None = None
    group: str | None = None
    role: Int64 | None = None


class ManageBody(Body):
    username: str = ""
    action: str = ""


def _actor(caller: Caller) -> Actor:
    return Actor(id=caller.id, role=caller.role)


@router.get("/api/user/")
async def list_users(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    state = app_state(request)
    page = page_of(request, state.settings.max_items_per_page)
    order = order_of(request, users, user_admin.SORTABLE, user_admin.LEGACY_ORDER)
    rows, total = await user_admin.list_users(state.db.main, page.offset, page.limit, order)
    return ok([user_dto(row) for row in rows], total=total)


@router.get("/api/user/search")
async def search_users(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    keyword = request.query_params.get("keyword", "")
    order = order_of(request, users, user_admin.SORTABLE)
    rows = await user_admin.search_users(app_state(request).db.main, keyword, order)
    return ok([user_dto(row) for row in rows])


@router.get("/api/user/{id:int}")
async def get_user(request: Request, id: int, caller: Caller = admin_auth) -> dict[str, Any]:
    with refusals():
        row = await user_admin.get_user(app_state(request).db.main, _actor(caller), id)
    return ok(user_dto(row))


@router.post("/api/user/")
async def create_user(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    state = app_state(request)
    body = await parse_body(request, CreateBody, invalid=INVALID)
    if not body.username or not body.password:
        raise ApiError(INVALID)
    with refusals():
        user_id = await user_admin.add_user(
            state.db.main,
            _actor(caller),
            username=body.username,
            password=body.password,
            display_name=body.display_name,
            email=body.email,
            role=body.role,
            quota=body.quota,
            group=body.group,
            quota_for_new_user=state.options.get_int("QuotaForNewUser"),
        )
        row = await accounts.existing_user(state.db.main, user_id)
    return ok(user_dto(row))


@router.put("/api/user/")
async def update_user(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    state = app_state(request)
    body = await parse_body(request, UpdateBody, invalid=INVALID)
    if body.id <= 0:
        raise ApiError(INVALID)
    changes = UserChanges(**body.model_dump(exclude={"id"}))
    with refusals():
        await user_admin.update_user(state.db.main, state.db.logs, _actor(caller), body.id, changes)
    forget_user(state, body.id)
    return ok()


@router.delete("/api/user/{id:int}")
async def delete_user(request: Request, id: int, caller: Caller = admin_auth) -> dict[str, Any]:
    state = app_state(request)
    with refusals():
        await user_admin.delete_user(state.db.main, _actor(caller), id)
    forget_user(state, id)
    return ok()


@router.post("/api/user/manage")
async def manage_user(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    state = app_state(request)
    body = await parse_body(request, ManageBody, invalid=INVALID)
    with refusals():
        user_id, role, status = await user_admin.manage_user(
            state.db.main, _actor(caller), body.username, body.action
        )
    forget_user(state, user_id)
    return ok(user_dto({"role": role, "status": status}))
