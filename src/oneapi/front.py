"""The process's ASGI entry: `/v1` relay routes go straight to their endpoints, the rest to FastAPI.

Measured in bench/: matching a relay request against every `/api` route and passing it through
FastAPI's middleware stack cost about a third of the relay's throughput. Relay endpoints already
answer their own errors (RelayError), so they need neither. They keep the request id and the
rate limits of `/api` (the same code), applied inline with one `send` wrapper instead of one per
layer, and an async endpoint is called directly rather than through Starlette's
`request_response` wrapper, whose exception handlers are never installed here. Everything not a
relay route (and relay paths with a wrong method) goes to the FastAPI app, which also owns the
lifespan.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from oneapi.cache.ratelimit import RateLimits
from oneapi.ratelimit_middleware import RateLimitMiddleware
from oneapi.relay.errors import RelayError
from oneapi.request_id import assign

log = logging.getLogger(__name__)


class RelayFront:
    """Dispatch relay routes without FastAPI; behaves as the FastAPI app for everything else."""

    def __init__(self, app: FastAPI, routes: Sequence[Route], limits: RateLimits, key_prefix: str) -> None:
        self.app = app
        self._exact = {r.path: r for r in routes if "{" not in r.path}
        self._patterned = [r for r in routes if "{" in r.path]
        self._direct = {id(r) for r in routes if inspect.iscoroutinefunction(r.endpoint)}
        self._limits = RateLimitMiddleware(self.app, limits=limits, key_prefix=key_prefix)

    def __getattr__(self, name: str) -> Any:
        """`state`, `routes`, `openapi()`…: the FastAPI app's."""
        return getattr(self.app, name)

    def _match(self, scope: Scope) -> tuple[Route, Scope] | None:
        route = self._exact.get(scope["path"])
        if route is not None:
            return (
                (route, {"endpoint": route.endpoint, "path_params": {}})
                if scope["method"] in (route.methods or ())
                else None
            )
        for candidate in self._patterned:
            match, child = candidate.matches(scope)
            if match is Match.FULL:
                return candidate, child
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            found = self._match(scope)
            if found is not None:
                route, child = found
                scope.update(child)
                scope["app"] = self.app  # handlers reach the app state through request.app
                await self._relay(route, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _relay(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        header = assign(scope)
        started = False

        async def reply(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            if not await self._limits.admit(scope, reply):
                return
            if id(route) in self._direct:
                response = await route.endpoint(Request(scope, receive, reply))
                await response(scope, receive, reply)
            else:
                await route.app(scope, receive, reply)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not started:
                rid = str(scope.get("state", {}).get("request_id", ""))
                error = RelayError(500, "internal error", "internal_error")
                await error.response(rid)(scope, receive, reply)
