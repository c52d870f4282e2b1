"""/api/oauth/*: the state nonce, GitHub/OIDC/Lark/WeChat sign-in (log in, provision, bind), email binding."""

from __future__ import annotations

import secrets
import string
from typing import Any

from fastapi import APIRouter, Request, Response

from oneapi.api.auth import Caller, app_state, user_auth
from oneapi.api.errors import ApiError, ok
from oneapi.api.session import read_session, update_session, write_session
from oneapi.api.signup import codes_of
from oneapi.api.users import INVALID, forget_user, refusals
from oneapi.services import oauth
from oneapi.services.oauth_lark import LARK_OFF, LARK_TAKEN, lark_enabled, lark_identity
from oneapi.services.oauth_wechat import WECHAT_OFF, WECHAT_TAKEN, wechat_enabled, wechat_identity
from oneapi.services.signup import CODE_WRONG, valid_email
from oneapi.services.users import UserError
from oneapi.services.users_view import login_dto
from oneapi.services.verification import PURPOSE_VERIFY

router = APIRouter()

STATE_LENGTH = 12
BAD_STATE = "state is empty or not same"
BOUND = "bind"
_ALPHABET = string.ascii_letters + string.digits


@router.get("/api/oauth/state")
async def oauth_state(request: Request, response: Response) -> dict[str, Any]:
    value = "".join(secrets.choice(_ALPHABET) for _ in range(STATE_LENGTH))
    update_session(request, response, app_state(request), oauth_state=value)
    return ok(value)


async def _finish(
    request: Request, response: Response, who: oauth.Identity, taken: str = oauth.ALREADY_BOUND
) -> dict[str, Any]:
    """Bind to the logged-in user (`taken` when another holds it), or log in (provisioning if needed)."""
    state = app_state(request)
    session = read_session(request, state) or {}
    if isinstance(session.get("id"), int):
        with refusals():
            await oauth.bind_identity(state.db.main, session["id"], who.column, who.subject, taken)
        forget_user(state, session["id"])
        return ok(BOUND)
    return await _login(request, response, who)


async def _login(request: Request, response: Response, who: oauth.Identity) -> dict[str, Any]:
    """Log in the user holding `who` (provisioning one when registration is open); set the session."""
    state = app_state(request)
    with refusals():
        row = await oauth.login_or_provision(state.db.main, state.options, who)
    write_session(
        response,
        state,
        {"id": row["id"], "username": row["username"], "role": row["role"], "status": row["status"]},
    )
    return ok(login_dto(row))


def _check_state(request: Request, code: str, given: str) -> None:
    expected = (read_session(request, app_state(request)) or {}).get("oauth_state")
    if not given or not isinstance(expected, str) or not secrets.compare_digest(expected, given):
        raise ApiError(BAD_STATE, 403)
    if not code:
        raise ApiError(INVALID)


@router.get("/api/oauth/github")
async def github(request: Request, response: Response, code: str = "", state: str = "") -> dict[str, Any]:
    app = app_state(request)
    with refusals():
        if not app.options.get_bool("GitHubOAuthEnabled"):
            raise UserError(oauth.GITHUB_OFF)
        _check_state(request, code, state)
        who = await oauth.github_identity(
            app.options, app.settings.github_oauth_base_url, app.settings.github_api_base_url, code
        )
    return await _finish(request, response, who)


@router.get("/api/oauth/oidc")
async def oidc(request: Request, response: Response, code: str = "", state: str = "") -> dict[str, Any]:
    app = app_state(request)
    with refusals():
        if not app.options.get_bool("OidcEnabled"):
            raise UserError(oauth.OIDC_OFF)
        _check_state(request, code, state)
        who = await oauth.oidc_identity(app.options, code)
    return await _finish(request, response, who)


@router.get("/api/oauth/lark")
async def lark(request: Request, response: Response, code: str = "", state: str = "") -> dict[str, Any]:
    app = app_state(request)
    with refusals():
        if not lark_enabled(app.options):
            raise UserError(LARK_OFF)
        _check_state(request, code, state)
        who = await lark_identity(app.options, app.settings.lark_oauth_base_url, code)
    return await _finish(request, response, who, LARK_TAKEN)


@router.get("/api/oauth/wechat")
async def wechat(request: Request, response: Response, code: str = "") -> dict[str, Any]:
    """Log in by the code the official account showed (no state: the code is typed, not redirected)."""
    app = app_state(request)
    with refusals():
        if not wechat_enabled(app.options):
            raise UserError(WECHAT_OFF)
        if not code:
            raise ApiError(INVALID)
        who = await wechat_identity(app.options, code)
    return await _login(request, response, who)


@router.get("/api/oauth/wechat/bind")
async def bind_wechat(request: Request, code: str = "", caller: Caller = user_auth) -> dict[str, Any]:
    app = app_state(request)
    with refusals():
        if not wechat_enabled(app.options):
            raise UserError(WECHAT_OFF)
        if not code:
            raise ApiError(INVALID)
        who = await wechat_identity(app.options, code)
        await oauth.bind_identity(app.db.main, caller.id, who.column, who.subject, WECHAT_TAKEN)
    forget_user(app, caller.id)
    return ok()


@router.get("/api/oauth/email/bind")
async def bind_email(
    request: Request, email: str = "", code: str = "", caller: Caller = user_auth
) -> dict[str, Any]:
    state = app_state(request)
    if not valid_email(email):
        raise ApiError(INVALID)
    if not await codes_of(request).check(PURPOSE_VERIFY, email, code):
        raise ApiError(CODE_WRONG)
    with refusals():
        await oauth.bind_identity(state.db.main, caller.id, "email", email)
    forget_user(state, caller.id)
    return ok()
