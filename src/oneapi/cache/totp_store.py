"""Short-lived TOTP state per user: the secret awaiting confirmation, and the last step used.

Kept in process memory, or in Redis when REDIS_CONN_STRING is set so that every worker and
node sees the same state (a setup begun on one node is confirmed on another; a code used on one
node is refused on all). Keys are `totp:pending:<user id>` and `totp:used:<user id>`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

PENDING_SECONDS = 600  # a setup not confirmed within ten minutes starts over


class TotpStore(Protocol):
    async def put_pending(self, user_id: int, secret: str) -> None:
        """Remember `secret` as the user's unconfirmed secret (replacing an earlier one)."""
        ...

    async def pending(self, user_id: int) -> str | None:
        """The user's unconfirmed secret, if a setup is under way."""
        ...

    async def drop_pending(self, user_id: int) -> None: ...

    async def claim_step(self, user_id: int, step: int, ttl: int) -> bool:
        """Record `step` as used by the user, unless it or a later step was used already
        (then answer False: the code is a replay). The record is kept `ttl` seconds."""
        ...


class MemoryTotpStore:
    """Per-process state (WORKERS=1, or each worker alone); entries expire lazily."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._pending: dict[int, tuple[str, float]] = {}
        self._used: dict[int, tuple[int, float]] = {}

    async def put_pending(self, user_id: int, secret: str) -> None:
        self._pending[user_id] = (secret, self._clock() + PENDING_SECONDS)

    async def pending(self, user_id: int) -> str | None:
        entry = self._pending.get(user_id)
        if entry is None or entry[1] <= self._clock():
            self._pending.pop(user_id, None)
            return None
        return entry[0]

    async def drop_pending(self, user_id: int) -> None:
        self._pending.pop(user_id, None)

    async def claim_step(self, user_id: int, step: int, ttl: int) -> bool:
        now = self._clock()
        last = self._used.get(user_id)
        if last is not None and last[1] > now and last[0] >= step:
            return False
        self._used[user_id] = (step, now + ttl)
        return True


# Atomic compare-and-set: two nodes checking the same code at once cannot both accept it.
_CLAIM_SCRIPT = """
local last = tonumber(redis.call('GET', KEYS[1]))
if last and last >= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
"""


class RedisTotpStore:
    """State shared by every worker and node through Redis."""

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._claim = client.register_script(_CLAIM_SCRIPT)

    async def put_pending(self, user_id: int, secret: str) -> None:
        await self._client.set(f"totp:pending:{user_id}", secret, ex=PENDING_SECONDS)

    async def pending(self, user_id: int) -> str | None:
        value = await self._client.get(f"totp:pending:{user_id}")
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def drop_pending(self, user_id: int) -> None:
        await self._client.delete(f"totp:pending:{user_id}")

    async def claim_step(self, user_id: int, step: int, ttl: int) -> bool:
        return bool(await self._claim(keys=[f"totp:used:{user_id}"], args=[step, ttl]))


def totp_store(client: Redis | None) -> TotpStore:
    """The Redis store when a client is configured, else a memory one."""
    return RedisTotpStore(client) if client is not None else MemoryTotpStore()
