"""The process's Redis client when REDIS_CONN_STRING is set: opened and pinged at start, closed at stop.

REDIS_CONN_STRING is a `redis://` (or `rediss://`, `unix://`) URL; with REDIS_MASTER_NAME it is
instead a comma list of sentinel addresses (`host:port`), as in One API. REDIS_PASSWORD, when set,
authenticates to Redis (a password inside the URL takes precedence), not to the sentinels.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

from oneapi.config import Settings

TIMEOUT_SECONDS = 3.0  # a stalled Redis must not stall every request


class RedisUnavailable(RuntimeError):
    """Redis is configured but cannot be used; start-up stops with this message."""


def sentinel_addresses(conn: str) -> list[tuple[str, int]]:
    """`host:port[,host:port…]` (a `redis://` prefix allowed) as (host, port) pairs; port 26379 by default."""
    found: list[tuple[str, int]] = []
    for part in conn.split(","):
        part = part.strip()
        if not part:
            continue
        parsed = urlsplit(part if "://" in part else "redis://" + part)
        found.append((parsed.hostname or "localhost", parsed.port or 26379))
    if not found:
        raise RedisUnavailable("REDIS_CONN_STRING: no sentinel address given")
    return found


def _client(settings: Settings) -> aioredis.Redis:
    options: dict[str, Any] = {"socket_timeout": TIMEOUT_SECONDS, "socket_connect_timeout": TIMEOUT_SECONDS}
    if settings.redis_password:
        options["password"] = settings.redis_password
    conn = settings.redis_conn_string
    if settings.redis_master_name:
        timeouts = {k: v for k, v in options.items() if k != "password"}
        sentinel = Sentinel(sentinel_addresses(conn), sentinel_kwargs=timeouts, **options)
        return sentinel.master_for(settings.redis_master_name)
    try:
        return aioredis.from_url(conn, **options)
    except ValueError as exc:
        raise RedisUnavailable(f"REDIS_CONN_STRING: {exc}") from None


async def open_redis(settings: Settings) -> aioredis.Redis | None:
    """The connected client, None without REDIS_CONN_STRING; RedisUnavailable if it does not answer."""
    if not settings.redis_conn_string:
        return None
    client = _client(settings)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise RedisUnavailable(f"REDIS_CONN_STRING: cannot reach Redis: {exc}") from None
    return client


async def close_redis(client: aioredis.Redis | None) -> None:
    if client is not None:
        await client.aclose()
