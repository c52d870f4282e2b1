"""The relay's upstream HTTP: the lean client for its POSTs, one aiohttp session for the rest.

Both are per worker with keep-alive pools (TCP_NODELAY is uvloop's default) and RELAY_TIMEOUT.
With RELAY_PROXY set the POSTs go through the aiohttp session too (the lean client speaks no
proxy protocol).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

import aiohttp

from oneapi.config import Settings
from oneapi.relay.http1 import Http1Pool

# Sent with every relay POST: the relay reads and forwards bodies as they are, never decompressed.
IDENTITY = {"Accept-Encoding": "identity"}


class UpstreamBody(Protocol):
    def iter_any(self) -> AsyncIterator[bytes]: ...


class UpstreamResponse(Protocol):
    """What the relay reads of an upstream answer: aiohttp.ClientResponse and Http1Response both."""

    status: int

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> UpstreamBody: ...

    async def read(self) -> bytes: ...

    def release(self) -> Any: ...

    def close(self) -> None: ...


class Poster(Protocol):
    async def post(self, url: str, data: bytes, headers: dict[str, str]) -> UpstreamResponse: ...

    async def close(self) -> None: ...


class SessionPoster:
    """Relay POSTs through the aiohttp session (used when RELAY_PROXY is set)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def post(self, url: str, data: bytes, headers: dict[str, str]) -> UpstreamResponse:
        return await self.session.post(url, data=data, headers=headers)

    async def close(self) -> None:
        """The session is closed by its owner."""


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


def open_poster(settings: Settings, session: aiohttp.ClientSession) -> Poster:
    """The lean HTTP/1.1 pool, or the aiohttp session when a proxy is configured."""
    if settings.relay_proxy:
        return SessionPoster(session)
    return Http1Pool(keepalive=max(1, settings.idle_timeout), timeout=settings.relay_timeout or None)
