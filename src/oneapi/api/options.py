"""GET/PUT /api/option/: root reads and changes the runtime options (SPEC §1.3, §8.2)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request

from oneapi.api.auth import Caller, app_state, root_auth
from oneapi.api.errors import ApiError, ok
from oneapi.services.options import OptionError, ignores_empty

router = APIRouter()

INVALID = "invalid parameter"
IGNORED = "empty value ignored for sensitive option"


def _invalid() -> ApiError:
    """One API answers an undecodable option body with a real 400."""
    return ApiError(INVALID, 400)


def _as_option_string(value: Any) -> str:
    """One API stores strings; the console sends strings, API callers may send bools or numbers."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    raise _invalid()


@router.get("/api/option/")
async def get_options(request: Request, caller: Caller = root_auth) -> dict[str, Any]:
    return ok(app_state(request).options.public_items())


@router.put("/api/option/")
async def update_option(request: Request, caller: Caller = root_auth) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise _invalid() from None
    if not isinstance(body, dict):
        raise _invalid()
    key, clear = body.get("key"), body.get("clear", False)
    if not isinstance(key, str) or not key or not isinstance(clear, bool):
        raise _invalid()
    value = _as_option_string(body.get("value"))
    if ignores_empty(key, value, clear):
        return {"success": True, "message": IGNORED}
    try:
        await app_state(request).options.update(key, value)
    except OptionError as exc:
        raise ApiError(str(exc)) from None
    return ok()
