"""Pure ASGI middleware: One API's global request limits (SPEC §9.1), applied before routing.

- relay paths (`/v1/*`, `/v2/*`, `/api/paas/v4/*`, `/mcp`) count per relay key
  (GLOBAL_RELAY_RATE_LIMIT); `/v1/models*` is not limited, as in One API, and a request without
  a key is left to the relay's own 401;
- `/api/*` and the billing routes `/dashboard/*`, `/v1/dashboard/*` count per client IP
  (GLOBAL_API_RATE_LIMIT), and the sign-in family (login, register, verification, password reset,
  OAuth) also against CRITICAL_RATE_LIMIT;
- any other path is a console page or asset: per IP, GLOBAL_WEB_RATE_LIMIT.

A refusal is 429 `{"error":{"message":"rate limit exceeded (request id: X)","type":"one_api_error"}}`
with RateLimit-Limit/-Remaining/-Reset and Retry-After. A Redis failure answers 500 (fails closed).
Install it inside RequestIdMiddleware, whose id the refusal quotes. Per request it does a few
prefix tests, at most one header scan and hash, and one or two limiter hits.
"""

from __future__ import annotations

import logging
import math

import orjson
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from oneapi.cache.ratelimit import RateLimits, Rule, key_hash
from oneapi.relay.keys import parse_key

log = logging.getLogger(__name__)

CRITICAL_PATHS = frozenset(
    {
        "/api/user/login",
        "/api/user/register",
        "/api/user/reset",
        "/api/verification",
        "/api/reset_password",
        "/api/user/passkey/login/begin",
        "/api/user/passkey/login/finish",
    }
)
CRITICAL_PREFIX = "/api/oauth/"
RELAY_PREFIXES = ("/v1", "/v2/", "/api/paas/v4/")
UNLIMITED_RELAY_PREFIX = "/v1/models"
API_PREFIXES = ("/api/", "/dashboard/", "/v1/dashboard/")


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def _relay_key(scope: Scope, prefix: str) -> str:
    """The relay key the request presents (normalised as the relay reads it), or ""."""
    fallback = b""
    for name, value in scope["headers"]:
        if name == b"authorization":
            raw = value
            break
        if name in (b"x-api-key", b"api-key") and not fallback:
            fallback = value
    else:
        raw = fallback
    if not raw:
        return ""
    return parse_key(raw.decode("latin-1"), prefix).key


def _request_id(scope: Scope) -> str:
    return str(scope.get("state", {}).get("request_id", ""))


async def _answer(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = orjson.dumps({"error": {"message": message, "type": "one_api_error"}})
    start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start + headers})
    await send({"type": "http.response.body", "body": body})


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: RateLimits, key_prefix: str = "sk-") -> None:
        self.app = app
        self.limits = limits
        self.key_prefix = key_prefix
        self.relay_on = limits.relay.limit > 0
        self.api_on = limits.api.limit > 0 or limits.critical.limit > 0
        self.web_on = limits.web.limit > 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or await self.admit(scope, send):
            await self.app(scope, receive, send)

    async def admit(self, scope: Scope, send: Send) -> bool:
        """Count an HTTP request against its limits: True to go on, False once it was refused
        (the 429, or 500 when Redis is down, already sent through `send`)."""
        path: str = scope["path"]
        limits = self.limits
        checks: tuple[tuple[Rule, str], ...] = ()
        if path.startswith(API_PREFIXES) and not path.startswith("/api/paas/v4/"):
            if self.api_on:
                ip = _client_ip(scope)
                if path in CRITICAL_PATHS or path.startswith(CRITICAL_PREFIX):
                    checks = ((limits.api, ip), (limits.critical, ip))
                else:
                    checks = ((limits.api, ip),)
        elif path.startswith(RELAY_PREFIXES) or path == "/mcp":
            if self.relay_on and not path.startswith(UNLIMITED_RELAY_PREFIX):
                key = _relay_key(scope, self.key_prefix)
                if key:
                    checks = ((limits.relay, key_hash(key)),)
        elif self.web_on:
            checks = ((limits.web, _client_ip(scope)),)
        for rule, ident in checks:
            try:
                wait = await limits.hit(rule, ident)
            except (RedisError, OSError) as exc:
                log.error("rate limiter unavailable: %s", exc)
                rid = _request_id(scope)
                await _answer(send, 500, f"rate limiter unavailable (request id: {rid})", [])
                return False
            if wait > 0:
                seconds = str(max(1, math.ceil(wait))).encode()
                headers = [
                    (b"ratelimit-limit", str(rule.limit).encode()),
                    (b"ratelimit-remaining", b"0"),
                    (b"ratelimit-reset", seconds),
                    (b"retry-after", seconds),
                ]
                rid = _request_id(scope)
                await _answer(send, 429, f"rate limit exceeded (request id: {rid})", headers)
                return False
        return True
