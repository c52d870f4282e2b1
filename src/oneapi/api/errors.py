"""Management-API errors and the `{success, message, data}` envelope of One API (SPEC §0.1)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JsonResponse(Response):
    """A JSON response serialised with orjson (fast, and handles the types our rows hold)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    """A business error: HTTP 200 with `{"success": false, "message": ...}` (no `data` key)."""

    def __init__(self, message: str, status_code: int = 200, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.data = data


class AuthError(ApiError):
    """An auth-middleware refusal: the real 401/403 status with the same envelope."""


def ok(data: Any = None, **extra: Any) -> dict[str, Any]:
    """The success envelope; `extra` carries One API's siblings of `data` such as `total`."""
    body: dict[str, Any] = {"success": True, "message": ""}
    if data is not None:
        body["data"] = data
    body.update(extra)
    return body


def fail_response(error: ApiError) -> JsonResponse:
    body: dict[str, Any] = {"success": False, "message": error.message}
    if error.data is not None:
        body["data"] = error.data
    return JsonResponse(body, status_code=error.status_code)
