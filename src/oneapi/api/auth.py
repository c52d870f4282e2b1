"""UserAuth / AdminAuth / RootAuth of One API (SPEC §3.2) as FastAPI dependencies.

The caller is the user of the session cookie or, without one, of the access token in the
`Authorization` header. The user row is read afresh so a disabled or demoted user loses access
at once, not when their cookie expires.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, Request

from oneapi.api.errors import AuthError
from oneapi.api.session import read_session
from oneapi.services.roles import ROLE_ADMIN, ROLE_COMMON, ROLE_ROOT, USER_ENABLED
from oneapi.services.users_query import user_by
from oneapi.state import AppState

NOT_LOGGED_IN = "No permission to perform this operation, not logged in and no access token provided"
BAD_ACCESS_TOKEN = "No permission to perform this operation, access token is invalid"
BANNED = "User has been banned"
INSUFFICIENT_ROLE = "No permission to perform this operation, insufficient permissions"


@dataclass(frozen=True)
class Caller:
    """The authenticated user of a management request."""

    id: int
    username: str
    role: int
    status: int
    group: str


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.oneapi
    return state


async def _resolve(request: Request) -> Caller:
    state = app_state(request)
    session = read_session(request, state)
    if session and isinstance(session.get("id"), int):
        row = await user_by(state.db.main, id=session["id"])
        if row is None:
            raise AuthError(NOT_LOGGED_IN, 401)
    else:
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else header
        if not token:
            raise AuthError(NOT_LOGGED_IN, 401)
        row = await user_by(state.db.main, access_token=token)
        if row is None:
            raise AuthError(BAD_ACCESS_TOKEN, 401)
    if row["status"] != USER_ENABLED:
        raise AuthError(BANNED, 403)
    return Caller(
        id=row["id"],
        username=row["username"] or "",
        role=row["role"] or 0,
        status=row["status"],
        group=row["group"] or "default",
    )


def require_role(min_role: int) -> Callable[[Request], Awaitable[Caller]]:
    async def dependency(request: Request) -> Caller:
        caller = await _resolve(request)
        if caller.role < min_role:
            raise AuthError(INSUFFICIENT_ROLE, 403)
        return caller

    dependency.__name__ = f"require_role_{min_role}"
    return dependency


user_auth = Depends(require_role(ROLE_COMMON))
admin_auth = Depends(require_role(ROLE_ADMIN))
root_auth = Depends(require_role(ROLE_ROOT))


async def optional_caller(request: Request) -> Caller | None:
    """OptionalUserAuth: the logged-in user, or None; never refuses."""
    try:
        return await _resolve(request)
    except AuthError:
        return None
