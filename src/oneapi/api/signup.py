"""Sign-up: /api/user/register, emailed codes (/api/verification), password reset (SPEC §1.3, §3.4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from oneapi.api.auth import app_state
from oneapi.api.body import Body, parse_body
from oneapi.api.errors import ApiError, ok
from oneapi.api.users import INVALID, forget_user, refusals
from oneapi.services import signup
from oneapi.services.email import EmailError, send_email
from oneapi.services.turnstile import TurnstileError, verify_turnstile
from oneapi.services.users_query import user_by
from oneapi.services.verification import PURPOSE_RESET, PURPOSE_VERIFY, VerificationCodes

router = APIRouter()

VERIFY_CODE_LENGTH = 6
RESET_TOKEN_LENGTH = 32


class RegisterBody(Body):
    username: str = ""
    password: str = ""
    display_name: str = ""
    email: str = ""
    verification_code: str = ""
    aff_code: str = ""


class ResetBody(Body):
    email: str = ""
    token: str = ""


def codes_of(request: Request) -> VerificationCodes:
    """The process's code store (Redis-backed when REDIS_CONN_STRING is set), made on first use."""
    codes = getattr(request.app.state, "verification_codes", None)
    if codes is None:
        codes = VerificationCodes(app_state(request).redis)
        request.app.state.verification_codes = codes
    return codes


async def check_turnstile(request: Request) -> None:
    """Routes marked "ts": with TurnstileCheckEnabled, `?turnstile=` must pass Cloudflare's siteverify."""
    state = app_state(request)
    if not state.options.get_bool("TurnstileCheckEnabled"):
        return
    try:
        await verify_turnstile(
            state.settings.turnstile_verify_url,
            state.options.get("TurnstileSecretKey"),
            request.query_params.get("turnstile", ""),
            request.client.host if request.client else "",
        )
    except TurnstileError as exc:
        raise ApiError(str(exc)) from None


@router.post("/api/user/register")
async def register(request: Request) -> dict[str, Any]:
    state = app_state(request)
    with refusals():
        signup.check_switches(state.options)
    await check_turnstile(request)
    body = await parse_body(request, RegisterBody, invalid=INVALID)
    reg = signup.Registration(**body.model_dump())
    with refusals():
        done = await signup.register(state.db.main, state.db.logs, state.options, codes_of(request), reg)
    if done.inviter_id is not None:
        forget_user(state, done.inviter_id)
    return ok()


@router.get("/api/verification")
async def send_verification(request: Request, email: str = "") -> dict[str, Any]:
    state = app_state(request)
    await check_turnstile(request)
    if not signup.valid_email(email):
        raise ApiError(INVALID)
    with refusals():
        signup.check_email_domain(state.options, email)
    if await user_by(state.db.main, email=email) is not None:
        raise ApiError(signup.EMAIL_TAKEN)
    code = await codes_of(request).issue(PURPOSE_VERIFY, email, VERIFY_CODE_LENGTH)
    name = state.options.get("SystemName") or "One API"
    html = (
        f"<p>Hello, you are verifying your {name} email address.</p>"
        f"<p>Your verification code is: <strong>{code}</strong></p>"
        f"<p>The code is valid for {int(codes_of(request).ttl // 60)} minutes.</p>"
    )
    await _mail(request, email, f"{name} email verification", html)
    return ok()


@router.get("/api/reset_password")
async def send_reset_link(request: Request, email: str = "") -> dict[str, Any]:
    state = app_state(request)
    await check_turnstile(request)
    if not signup.valid_email(email):
        raise ApiError(INVALID)
    if await user_by(state.db.main, email=email) is None:
        raise ApiError(signup.EMAIL_UNKNOWN)
    token = await codes_of(request).issue(PURPOSE_RESET, email, RESET_TOKEN_LENGTH)
    query = urlencode({"email": email, "token": token})
    link = f"{state.options.get('ServerAddress').rstrip('/')}/user/reset?{query}"
    name = state.options.get("SystemName") or "One API"
    html = f'<p>Hello, you are resetting your {name} password.</p><p>Open <a href="{link}">{link}</a></p>'
    await _mail(request, email, f"{name} password reset", html)
    return ok()


@router.post("/api/user/reset")
async def reset_password(request: Request) -> dict[str, Any]:
    state = app_state(request)
    body = await parse_body(request, ResetBody, invalid=INVALID)
    if not body.email or not body.token:
        raise ApiError(INVALID)
    with refusals():
        password = await signup.reset_password(state.db.main, codes_of(request), body.email, body.token)
    return ok(password)


async def _mail(request: Request, to: str, subject: str, html: str) -> None:
    state = app_state(request)
    try:
        await send_email(state.options, to, subject, html, verify_tls=state.settings.force_email_tls_verify)
    except EmailError as exc:
        raise ApiError(str(exc)) from None
