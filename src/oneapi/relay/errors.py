"""Relay errors in OpenAI's shape, `{"error": {message, type, param, code}}`, with the real status."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class RelayError(Exception):
    """An error answered to a relay client; `type` one_api_error marks gateway-originated errors."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "",
        type: str = "one_api_error",
        param: str = "",
        upstream: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type = type
        self.param = param
        self.upstream = upstream  # the upstream's own error object, passed through

    def body(self, request_id: str) -> dict[str, Any]:
        error = dict(self.upstream) if self.upstream else {}
        error.update(
            {
                "message": f"{self.message} (request id: {request_id})",
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        )
        return {"error": error}

    def response(self, request_id: str) -> Response:
        return Response(
            orjson.dumps(self.body(request_id)), status_code=self.status, media_type="application/json"
        )
