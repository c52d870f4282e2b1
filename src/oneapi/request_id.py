"""Pure ASGI middleware: a One API request id per request, in `X-Oneapi-Request-Id` and scope state."""

from __future__ import annotations

import random
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-oneapi-request-id"

_stamp_second = -1
_stamp = ""


def new_request_id() -> str:
    """`yyyyMMddHHmmss` + nanoseconds mod 1e9 + 8 random digits, as One API's X-Oneapi-Request-Id.
    The date part is formatted once per second (strftime per request was ~1% of a relay request's
    CPU); the random digits come from the plain PRNG, as an id is not a secret."""
    global _stamp_second, _stamp
    now_ns = time.time_ns()
    second = now_ns // 1_000_000_000
    if second != _stamp_second:
        _stamp = time.strftime("%Y%m%d%H%M%S", time.localtime(second))
        _stamp_second = second
    return f"{_stamp}{now_ns % 1_000_000_000}{random.randrange(100_000_000):08d}"


def assign(scope: Scope) -> tuple[bytes, bytes]:
    """Give the request its id (in scope state) and answer the response header that carries it."""
    rid = new_request_id()
    scope.setdefault("state", {})["request_id"] = rid
    return (HEADER, rid.encode())


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = assign(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
