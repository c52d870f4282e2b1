"""/api/user/*: login, logout and the caller's own account (SPEC §1.3, §3.4)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request, Response

from oneapi.api.auth import Caller, app_state, user_auth
from oneapi.api.body import Body, parse_body
from oneapi.api.errors import ApiError, ok
from oneapi.api.session import clear_session, write_session
from oneapi.api.totp import check_login_code
from oneapi.services import users as accounts
from oneapi.services.passwords import verify_password
from oneapi.services.roles import ROLE_ROOT, USER_ENABLED
from oneapi.services.users_query import user_by
from oneapi.services.users_view import login_dto, user_dto
from oneapi.state import AppState

router = APIRouter()

INVALID = "invalid parameter"
WRONG_LOGIN = "Username or password is wrong, or user has been banned"
PASSWORD_LOGIN_OFF = (
    "The administrator has disabled password login. "
    "Please use a third-party authentication method (e.g. OIDC) to log in."
)


@contextmanager
def refusals() -> Iterator[None]:
    """A refused user operation becomes One API's `{"success": false, "message": …}` answer."""
    try:
        yield
    except accounts.UserError as exc:
        raise ApiError(str(exc)) from None


def forget_user(state: AppState, user_id: int) -> None:
    """The relay caches users: a changed, disabled or deleted account is read afresh at once."""
    if state.relay is not None:
        state.relay.accounts.forget_user(user_id)


class LoginBody(Body):
    username: str = ""
    password: str = ""
    totp_code: str = ""


class SelfUpdateBody(Body):
    username: str | None = None
    password: str | None = None
    display_name: str | None = None


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
        raise ApiError(PASSWORD_LOGIN_OFF)
    await check_login_code(request, row, body.totp_code)
    write_session(
        response,
        state,
        {"id": row["id"], "username": row["username"], "role": row["role"], "status": row["status"]},
    )
    return ok(login_dto(row))


@router.get("/api/user/logout")
async def logout(request: Request, response: Response) -> dict[str, Any]:
    clear_session(response, app_state(request))
    return ok()


@router.get("/api/user/self")
async def get_self(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    with refusals():
        row = await accounts.existing_user(app_state(request).db.main, caller.id)
    return ok(user_dto(row))


@router.put("/api/user/self")
async def update_self(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    state = app_state(request)
    body = await parse_body(request, SelfUpdateBody, invalid=INVALID)
    with refusals():
        await accounts.update_self(
            state.db.main,
            caller.id,
            username=body.username,
            password=body.password,
            display_name=body.display_name,
        )
    forget_user(state, caller.id)
    return ok()


@router.delete("/api/user/self")
async def delete_self(request: Request, response: Response, caller: Caller = user_auth) -> dict[str, Any]:
    state = app_state(request)
    with refusals():
        await accounts.delete_self(state.db.main, caller.id)
    forget_user(state, caller.id)
    clear_session(response, state)
    return ok()


@router.get("/api/user/token")
async def rotate_access_token(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    return ok(await accounts.rotate_access_token(app_state(request).db.main, caller.id))


@router.get("/api/user/aff")
async def get_aff_code(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    with refusals():
        return ok(await accounts.aff_code_of(app_state(request).db.main, caller.id))
