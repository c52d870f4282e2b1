"""Sliding-window rate limiting of One API (SPEC §9.1), in process memory or in Redis.

A request is admitted when fewer than `limit` were admitted under its key in the last `window`
seconds, and then recorded; a refused request is not recorded. Redis keeps One API's log (the
times of the last `limit` admissions, newest first); memory counts admissions per time slot.
Keys are `rateLimit:<mark>:<id>` in both stores.

The memory limiter counts per worker process: with WORKERS > 1 each worker admits up to the limit.
Set REDIS_CONN_STRING for one exact count across workers and nodes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from oneapi.config import Settings

log = logging.getLogger(__name__)

IDLE_SECONDS = 1200  # a key idle this long is forgotten; every window below is at most this
SWEEP_SECONDS = 60
API_WINDOW = 180
WEB_WINDOW = 180
CRITICAL_WINDOW = 1200
RELAY_WINDOW = 180
CHANNEL_WINDOW = 180


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: int) -> float:
        """Admit and record one request under `key` (answer 0.0), or refuse it and answer the
        seconds until a request would be admitted. `limit` ≥ 1, `window` in seconds."""
        ...


@lru_cache(maxsize=4096)
def key_hash(key: str) -> str:
    """A relay key as rate-limit keys name it: the first 8 bytes of its SHA-256, in hex (cached:
    a key is hashed once, not on each of its requests)."""
    return hashlib.sha256(key.encode()).digest()[:8].hex()


SLOTS_PER_WINDOW = 1000  # the memory limiter's resolution: 0.18 s for a 180 s window


class _Admissions:
    """One key's admissions in the last window, as (newest time, count) per time slot: memory is
    bounded by SLOTS_PER_WINDOW per key, not by the request rate times the window."""

    __slots__ = ("counts", "newest", "total")

    def __init__(self, now: float) -> None:
        self.newest: deque[float] = deque((now,))
        self.counts: deque[int] = deque((1,))
        self.total = 1


class MemoryRateLimiter:
    """The per-process limiter: admissions counted per key in slots of 1/SLOTS_PER_WINDOW of the
    window, idle keys swept each minute.

    A slot leaves the window when its newest admission does, so when requests share a slot the
    limiter errs on the strict side, by less than one slot (0.18 s of a 180 s window). Requests in
    slots of their own, as at low rates, are counted exactly. Keeping each admission time instead
    (One API's log) cost ~32 bytes per request in the window: 20 MB at 3,700 req/s (bench/).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._logs: dict[str, _Admissions] = {}
        self._next_sweep = clock() + SWEEP_SECONDS

    def __len__(self) -> int:
        return len(self._logs)

    def slots(self, key: str) -> int:
        """How many slots `key` holds (0 when unknown): what its memory is proportional to."""
        log = self._logs.get(key)
        return len(log.newest) if log else 0

    async def hit(self, key: str, limit: int, window: int) -> float:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        log = self._logs.get(key)
        if log is None:
            self._logs[key] = _Admissions(now)
            return 0.0
        newest, counts = log.newest, log.counts
        expired = now - window
        while newest and newest[0] <= expired:
            newest.popleft()
            log.total -= counts.popleft()
        if log.total >= limit:
            return _wait(log, limit, window, now)
        slot_width = window / SLOTS_PER_WINDOW
        if newest and newest[-1] // slot_width == now // slot_width:
            newest[-1] = now
            counts[-1] += 1
        else:
            newest.append(now)
            counts.append(1)
        log.total += 1
        return 0.0

    def _sweep(self, now: float) -> None:
        stale = [key for key, log in self._logs.items() if now - log.newest[-1] >= IDLE_SECONDS]
        for key in stale:
            del self._logs[key]
        self._next_sweep = now + SWEEP_SECONDS


def _wait(log: _Admissions, limit: int, window: int, now: float) -> float:
    """Seconds until enough of the oldest slots leave the window for fewer than `limit` to remain."""
    remaining = log.total
    for newest, count in zip(log.newest, log.counts, strict=True):
        remaining -= count
        if remaining < limit:
            return newest + window - now
    return log.newest[-1] + window - now  # the newest slot's leaving empties the window


# One round trip, atomic: the list holds admission times in ms, newest first (LPUSH).
_HIT_SCRIPT = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if redis.call('LLEN', KEYS[1]) >= limit then
  local oldest = tonumber(redis.call('LINDEX', KEYS[1], limit - 1))
  if oldest and now - oldest < window then
    return oldest + window - now
  end
end
redis.call('LPUSH', KEYS[1], now)
redis.call('LTRIM', KEYS[1], 0, limit - 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 0
"""


class RedisRateLimiter:
    """The shared limiter: One API's LIST per key (LLEN/LINDEX/LPUSH/LTRIM/EXPIRE) in one Lua script.

    Times come from this node's wall clock, so nodes sharing a Redis need synchronised clocks.
    Redis errors propagate: callers fail closed, as One API does."""

    def __init__(self, client: Redis, clock: Callable[[], float] = time.time) -> None:
        self._script = client.register_script(_HIT_SCRIPT)
        self._clock = clock

    async def hit(self, key: str, limit: int, window: int) -> float:
        now_ms = int(self._clock() * 1000)
        wait_ms = await self._script(
            keys=[key], args=[limit, window * 1000, now_ms, max(IDLE_SECONDS, window)]
        )
        return int(wait_ms) / 1000


@dataclass(frozen=True)
class Rule:
    """One limit: `limit` requests per `window` seconds per id, counted under `mark`; limit 0 = off."""

    mark: str
    limit: int
    window: int


class RateLimits:
    """The limits of SPEC §9.1 as the environment sets them, and the limiter that counts them."""

    def __init__(self, settings: Settings, limiter: RateLimiter | None = None) -> None:
        on = not settings.rate_limit_disabled

        def rule(mark: str, limit: int, window: int) -> Rule:
            return Rule(mark, limit if on else 0, window)

        self.api = rule("GA", settings.global_api_rate_limit, API_WINDOW)
        self.web = rule("GW", settings.global_web_rate_limit, WEB_WINDOW)
        self.critical = rule("CT", settings.critical_rate_limit, CRITICAL_WINDOW)
        self.relay = rule("GR", settings.global_relay_rate_limit, RELAY_WINDOW)
        self.per_channel = on and settings.global_channel_rate_limit
        self.limiter: RateLimiter = limiter or MemoryRateLimiter()

    def use(self, limiter: RateLimiter) -> RateLimits:
        """Count with `limiter` from now on (the Redis one, once its client is open)."""
        self.limiter = limiter
        return self

    async def hit(self, rule: Rule, ident: str) -> float:
        """0.0 when a request of `ident` (an IP, a key hash) is admitted under `rule`, else the
        seconds to wait. Redis errors propagate."""
        if rule.limit <= 0:
            return 0.0
        return await self.limiter.hit(f"rateLimit:{rule.mark}:{ident}", rule.limit, rule.window)

    async def admit_channel(self, key: str, channel_id: int, channel_limit: int) -> bool:
        """GLOBAL_CHANNEL_RATE_LIMIT: may relay key `key` send one more request to this channel,
        whose `ratelimit` column allows `channel_limit` per 180 s per key (≤ 0 = no limit)?
        The relay calls this once it has chosen a channel. A Redis error refuses (fails closed)."""
        if not self.per_channel or channel_limit <= 0:
            return True
        ident = f"rateLimit:CR:{key_hash(key)}:{channel_id}"
        try:
            return await self.limiter.hit(ident, channel_limit, CHANNEL_WINDOW) == 0.0
        except (RedisError, OSError) as exc:
            log.warning("channel rate limit unavailable, refusing: %s", exc)
            return False
