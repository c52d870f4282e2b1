"""/api/user/totp/*: TOTP two-factor status, setup, confirm, disable, admin reset (SPEC §1.3, §3.4)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request

from oneapi.api.auth import Caller, admin_auth, app_state, user_auth
from oneapi.api.body import Body, parse_body
from oneapi.api.errors import ApiError, ok
from oneapi.cache.totp_store import totp_store
from oneapi.services.two_factor import TotpError, TotpThrottled, TwoFactor
from oneapi.services.user_admin import Actor
from oneapi.services.users import UserError

router = APIRouter()

ENABLED = "TOTP has been successfully enabled"
DISABLED = "TOTP has been successfully disabled"
RESET = "TOTP has been successfully disabled for the user"
TOTP_REQUIRED = "totp_required"
INVALID = "invalid parameter"


class TotpCodeBody(Body):
    totp_code: str = ""


def two_factor(request: Request) -> TwoFactor:
    """This app's TwoFactor, made on first use (its memory store must live as long as the app)."""
    found: TwoFactor | None = getattr(request.app.state, "two_factor", None)
    if found is None:
        state = app_state(request)
        limiter = None if state.settings.rate_limit_disabled else state.rate_limits.limiter
        found = TwoFactor(state.db.main, state.db.logs, totp_store(state.redis), limiter)
        request.app.state.two_factor = found
    return found


@contextmanager
def totp_refusals() -> Iterator[None]:
    """A refused TOTP step becomes One API's answer: the envelope, HTTP 429 when throttled."""
    try:
        yield
    except TotpThrottled as exc:
        raise ApiError(str(exc), 429) from None
    except (TotpError, UserError) as exc:
        raise ApiError(str(exc)) from None


async def check_login_code(request: Request, row: Any, code: str) -> None:
    """The login step after the password: a user with TOTP must also give a valid, unused code."""
    if not row["totp_secret"]:
        return
    if not code:
        raise ApiError(TOTP_REQUIRED, data={"totp_required": True})
    with totp_refusals():
        await two_factor(request).check_login(row, code)


@router.get("/api/user/totp/status")
async def totp_status(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    with totp_refusals():
        enabled = await two_factor(request).enabled(caller.id)
    return ok({"totp_enabled": enabled, "enabled": enabled})


@router.get("/api/user/totp/setup")
async def totp_setup(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    issuer = app_state(request).options.get("SystemName")
    with totp_refusals():
        return ok(await two_factor(request).begin_setup(caller.id, issuer))


@router.post("/api/user/totp/confirm")
async def totp_confirm(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    body = await parse_body(request, TotpCodeBody, invalid=INVALID)
    with totp_refusals():
        await two_factor(request).confirm(caller.id, body.totp_code)
    return {"success": True, "message": ENABLED}


@router.post("/api/user/totp/disable")
async def totp_disable(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    body = await parse_body(request, TotpCodeBody, invalid=INVALID)
    with totp_refusals():
        await two_factor(request).disable(caller.id, body.totp_code)
    return {"success": True, "message": DISABLED}


@router.post("/api/user/totp/disable/{id:int}")
async def totp_admin_reset(request: Request, id: int, caller: Caller = admin_auth) -> dict[str, Any]:
    with totp_refusals():
        await two_factor(request).admin_reset(Actor(id=caller.id, role=caller.role), id)
    return {"success": True, "message": RESET}
