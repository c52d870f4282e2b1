"""One shared aiohttp session per worker: keep-alive pool, TCP_NODELAY, RELAY_TIMEOUT."""

from __future__ import annotations

import aiohttp

from oneapi.config import Settings


def open_session(settings: Settings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=0,  # no pool-wide cap: concurrency is bounded by the clients, not by us
        limit_per_host=0,
        ttl_dns_cache=300,
        keepalive_timeout=max(1, settings.idle_timeout),
        enable_cleanup_closed=True,
    )
    timeout = aiohttp.ClientTimeout(
        total=settings.relay_timeout or None,
        sock_connect=30,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,  # bytes are relayed as they come, encoding header included
        skip_auto_headers=("User-Agent",),
        trust_env=False,
        proxy=settings.relay_proxy or None,
    )
