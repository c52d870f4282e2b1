"""Pure ASGI middleware: a One API request id per request, in `X-Oneapi-Request-Id` and scope state."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oneapi.services.keys import request_id

HEADER = b"x-oneapi-request-id"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id()
        scope.setdefault("state", {})["request_id"] = rid
        header = (HEADER, rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
