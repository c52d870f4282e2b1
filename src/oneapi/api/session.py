"""The signed `session` cookie: who is logged in (id, username, role, status), set at login."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from oneapi.state import AppState

COOKIE_NAME = "session"


def _serializer(state: AppState) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(state.session_secret, salt="oneapi-session")


def read_session(request: Request, state: AppState) -> dict[str, Any] | None:
    raw = request.cookies.get(COOKIE_NAME)
    if not raw:
        return None
    max_age = state.settings.cookie_max_age_hours * 3600 or None
    try:
        data = _serializer(state).loads(raw, max_age=max_age)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def write_session(response: Response, state: AppState, data: dict[str, Any]) -> None:
    response.set_cookie(
        COOKIE_NAME,
        _serializer(state).dumps(data),
        max_age=state.settings.cookie_max_age_hours * 3600 or None,
        httponly=True,
        samesite="lax",
        secure=state.settings.enable_cookie_secure,
        path="/",
    )


def clear_session(response: Response, state: AppState) -> None:
    response.delete_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=state.settings.enable_cookie_secure
    )


def update_session(request: Request, response: Response, state: AppState, **changes: Any) -> None:
    """Keep what the cookie holds (e.g. who is logged in) and set or replace `changes`."""
    write_session(response, state, {**(read_session(request, state) or {}), **changes})
