"""/api/user/passkey*: passkey (WebAuthn) sign-in and the caller's passkeys (SPEC §1.3, the fork's).

Each begin step remembers its challenge once, server side, and names it in the session cookie
(`webauthn_register_session` / `webauthn_login_session`, the fork's keys); the finish step takes
it, so a challenge answers one finish only. A passkey sign-in sets the session exactly as the
password login does and answers the same; like the fork, it needs no TOTP code (the passkey is
itself the second factor) and is not subject to PasswordLoginEnabled.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import Field
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from oneapi.api.auth import Caller, app_state, user_auth
from oneapi.api.body import Body, parse_body
from oneapi.api.errors import ApiError, ok
from oneapi.api.session import read_session, update_session, write_session
from oneapi.cache.passkey_store import CeremonyStore, ceremony_store
from oneapi.services import passkey_auth, passkeys
from oneapi.services.passkeys import PasskeyError
from oneapi.services.users import UserError, existing_user
from oneapi.services.users_view import login_dto
from oneapi.state import AppState

router = APIRouter()

REGISTER_KEY = "webauthn_register_session"
LOGIN_KEY = "webauthn_login_session"
NO_REGISTRATION = "no registration session found, please start again"
NO_LOGIN = "no login session found, please start again"
INVALID = "invalid parameter"
REGISTERED = "Passkey registered successfully"
DELETED = "Passkey deleted successfully"
RENAMED = "Passkey renamed successfully"


class CredentialBody(Body):
    """The PublicKeyCredential the browser returned, as JSON (base64url fields), e.g. what
    @simplewebauthn/browser's startRegistration / startAuthentication give."""

    id: str
    rawId: str
    type: str = "public-key"
    response: dict[str, Any]
    clientExtensionResults: dict[str, Any] = Field(default_factory=dict)
    authenticatorAttachment: str | None = None

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class RenameBody(Body):
    name: str = ""


def ceremonies(request: Request) -> CeremonyStore:
    """This app's ceremony store, made on first use (its memory store must live as long as the app)."""
    found: CeremonyStore | None = getattr(request.app.state, "passkey_ceremonies", None)
    if found is None:
        found = ceremony_store(app_state(request).redis)
        request.app.state.passkey_ceremonies = found
    return found


async def begin(
    request: Request, response: Response, key: str, challenge: bytes, user_id: int | None
) -> None:
    """Remember `challenge` for the finish step and name it in the session cookie."""
    ref = secrets.token_urlsafe(24)
    value = {"challenge": bytes_to_base64url(challenge), "user_id": user_id}
    await ceremonies(request).put(ref, orjson.dumps(value).decode())
    update_session(request, response, app_state(request), **{key: ref})


async def take_challenge(request: Request, state: AppState, key: str, user_id: int | None) -> bytes | None:
    """The challenge the session's begin step issued (for `user_id`), now used up; None if none."""
    ref = (read_session(request, state) or {}).get(key)
    if not isinstance(ref, str) or not ref:
        return None
    raw = await ceremonies(request).take(ref)
    if raw is None:
        return None
    value = orjson.loads(raw)
    if value.get("user_id") != user_id:
        return None
    return base64url_to_bytes(value["challenge"])


def refused(exc: PasskeyError | UserError) -> ApiError:
    return ApiError(str(exc))


@router.post("/api/user/passkey/register/begin")
async def register_begin(request: Request, response: Response, caller: Caller = user_auth) -> dict[str, Any]:
    state = app_state(request)
    try:
        user = await existing_user(state.db.main, caller.id)
    except UserError as exc:
        raise refused(exc) from None
    rp = passkey_auth.relying_party(state.settings, state.options)
    options, challenge = await passkey_auth.registration_options(state.db.main, rp, user)
    await begin(request, response, REGISTER_KEY, challenge, caller.id)
    return ok(options)


@router.post("/api/user/passkey/register/finish")
async def register_finish(
    request: Request, response: Response, name: str = "", caller: Caller = user_auth
) -> dict[str, Any]:
    state = app_state(request)
    body = (await parse_body(request, CredentialBody)).as_json()
    challenge = await take_challenge(request, state, REGISTER_KEY, caller.id)
    if challenge is None:
        raise ApiError(NO_REGISTRATION)
    rp = passkey_auth.relying_party(state.settings, state.options)
    try:
        saved = await passkey_auth.finish_registration(state.db.main, rp, caller.id, challenge, body, name)
    except PasskeyError as exc:
        raise refused(exc) from None
    session = {k: v for k, v in (read_session(request, state) or {}).items() if k != REGISTER_KEY}
    write_session(response, state, session)
    data = {"id": saved["id"], "uuid": saved["uuid"], "user_uuid": None, "name": saved["credential_name"]}
    return {"success": True, "message": REGISTERED, "data": data}


@router.post("/api/user/passkey/login/begin")
async def login_begin(request: Request, response: Response) -> dict[str, Any]:
    state = app_state(request)
    options, challenge = passkey_auth.login_options(passkey_auth.relying_party(state.settings, state.options))
    await begin(request, response, LOGIN_KEY, challenge, None)
    return ok(options)


@router.post("/api/user/passkey/login/finish")
async def login_finish(request: Request, response: Response) -> dict[str, Any]:
    state = app_state(request)
    body = (await parse_body(request, CredentialBody)).as_json()
    challenge = await take_challenge(request, state, LOGIN_KEY, None)
    if challenge is None:
        raise ApiError(NO_LOGIN)
    rp = passkey_auth.relying_party(state.settings, state.options)
    try:
        row = await passkey_auth.finish_login(state.db.main, rp, challenge, body)
    except PasskeyError as exc:
        raise refused(exc) from None
    write_session(
        response,
        state,
        {"id": row["id"], "username": row["username"], "role": row["role"], "status": row["status"]},
    )
    return ok(login_dto(row))


@router.get("/api/user/passkey")
async def list_passkeys(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    rows = await passkeys.list_for_user(app_state(request).db.main, caller.id)
    return ok([passkeys.public_view(row) for row in rows])


@router.delete("/api/user/passkey/{ref}")
async def delete_passkey(request: Request, ref: str, caller: Caller = user_auth) -> dict[str, Any]:
    try:
        await passkeys.remove(app_state(request).db.main, caller.id, ref)
    except PasskeyError as exc:
        raise refused(exc) from None
    return {"success": True, "message": DELETED}


@router.put("/api/user/passkey/{ref}")
async def rename_passkey(request: Request, ref: str, caller: Caller = user_auth) -> dict[str, Any]:
    body = await parse_body(request, RenameBody, invalid=INVALID)
    try:
        name = passkeys.new_name(body.name)
        await passkeys.rename(app_state(request).db.main, caller.id, ref, name)
    except PasskeyError as exc:
        raise refused(exc) from None
    return {"success": True, "message": RENAMED}
