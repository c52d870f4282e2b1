"""/api/user/*: login, logout and the caller's own account (SPEC §1.3, §3.4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from oneapi.api.auth import Caller, app_state, user_auth
from oneapi.api.body import Body, parse_body
from oneapi.api.errors import ApiError, ok
from oneapi.api.session import clear_session, write_session
from oneapi.services.passwords import verify_password
from oneapi.services.roles import ROLE_ROOT, USER_ENABLED
from oneapi.services.users_query import user_by
from oneapi.services.users_view import user_dto

router = APIRouter()

INVALID = "invalid parameter"
WRONG_LOGIN = "Username or password is wrong, or user has been banned"


class LoginBody(Body):
    username: str = ""
    password: str = ""


@router.post("/api/user/login")
async def login(request: Request, response: Response) -> dict[str, Any]:
    state = app_state(request)
    body = await parse_body(request, LoginBody, invalid=INVALID)
    if not body.username or not body.password:
        raise ApiError(INVALID)
    row = await user_by(state.db.main, username=body.username)
    if row is None:
        row = await user_by(state.db.main, email=body.username)
    if (
        row is None
        or row["status"] != USER_ENABLED
        or not await verify_password(body.password, row["password"])
    ):
        raise ApiError(WRONG_LOGIN)
    if not state.options.get_bool("PasswordLoginEnabled") and (row["role"] or 0) < ROLE_ROOT:
        raise ApiError("The administrator has turned off password login")
    write_session(
        response,
        state,
        {"id": row["id"], "username": row["username"], "role": row["role"], "status": row["status"]},
    )
    return ok(
        {
            "id": row["id"],
            "username": row["username"],
            "display_name": row["display_name"] or "",
            "role": row["role"],
            "status": row["status"],
        }
    )


@router.get("/api/user/logout")
async def logout(request: Request, response: Response) -> dict[str, Any]:
    clear_session(response, app_state(request))
    return ok()


@router.get("/api/user/self")
async def get_self(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    row = await user_by(app_state(request).db.main, id=caller.id)
    if row is None:
        raise ApiError("User does not exist")
    return ok(user_dto(row))
