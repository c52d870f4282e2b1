"""One-time passkey (WebAuthn) ceremony state: the challenge a begin step issued, taken once by
its finish step.

The session cookie only names the ceremony (a random reference); the challenge itself lives here,
in process memory or in Redis when REDIS_CONN_STRING is set (every worker and node sees it).
Taking an entry deletes it atomically, so a replayed finish request, even with an old copy of
the cookie, finds nothing. Keys are `passkey:ceremony:<reference>`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

CEREMONY_SECONDS = 300  # as long as the browser prompt may stay open (the options' timeout)


class CeremonyStore(Protocol):
    async def put(self, ref: str, value: str) -> None:
        """Remember `value` under `ref` for CEREMONY_SECONDS."""
        ...

    async def take(self, ref: str) -> str | None:
        """The value under `ref`, removed so nobody can take it again; None if absent or expired."""
        ...


class MemoryCeremonyStore:
    """Per-process state (WORKERS=1, or each worker alone); expired entries are swept on writes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}

    async def put(self, ref: str, value: str) -> None:
        now = self._clock()
        for stale in [key for key, (_, until) in self._entries.items() if until <= now]:
            del self._entries[stale]
        self._entries[ref] = (value, now + CEREMONY_SECONDS)

    async def take(self, ref: str) -> str | None:
        entry = self._entries.pop(ref, None)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]


# GET and DEL in one step (GETDEL needs Redis 6.2; a script works on every version).
_TAKE_SCRIPT = """
local value = redis.call('GET', KEYS[1])
if value then
  redis.call('DEL', KEYS[1])
end
return value
"""


class RedisCeremonyStore:
    """State shared by every worker and node through Redis."""

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._take = client.register_script(_TAKE_SCRIPT)

    async def put(self, ref: str, value: str) -> None:
        await self._client.set(f"passkey:ceremony:{ref}", value, ex=CEREMONY_SECONDS)

    async def take(self, ref: str) -> str | None:
        value = await self._take(keys=[f"passkey:ceremony:{ref}"])
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)


def ceremony_store(client: Redis | None) -> CeremonyStore:
    """The Redis store when a client is configured, else a memory one."""
    return RedisCeremonyStore(client) if client is not None else MemoryCeremonyStore()
