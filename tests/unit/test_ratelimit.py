"""The sliding-window-log limiter (memory and Redis, on an injected clock) and the middleware's routing
of paths to limits, driven as a plain ASGI app."""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from oneapi.cache.ratelimit import (
    IDLE_SECONDS,
    SLOTS_PER_WINDOW,
    MemoryRateLimiter,
    RateLimiter,
    RateLimits,
    RedisRateLimiter,
    key_hash,
)
from oneapi.cache.redis_client import RedisUnavailable, open_redis, sentinel_addresses
from oneapi.config import Settings
from oneapi.ratelimit_middleware import RateLimitMiddleware

REDIS_ENV = "ONEAPI_TEST_REDIS_URL"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def redis_url() -> str:
    url = os.environ.get(REDIS_ENV, "")
    if not url:
        pytest.skip(f"Redis tests need {REDIS_ENV} (set by CI), e.g. redis://127.0.0.1:6379/0")
    return url


@asynccontextmanager
async def limiter_of(store: str, clock: Clock) -> AsyncIterator[RateLimiter]:
    if store == "memory":
        yield MemoryRateLimiter(clock)
        return
    from redis.asyncio import from_url

    client = from_url(redis_url())
    try:
        yield RedisRateLimiter(client, clock)
    finally:
        await client.aclose()


Scenario = Callable[[RateLimiter, Clock, str], Awaitable[None]]


@pytest.fixture(params=["memory", "redis"])
def drive(request: pytest.FixtureRequest) -> Callable[[Scenario], None]:
    """Run an async scenario against a limiter of the store, with a fake clock and a fresh key."""
    store = str(request.param)
    if store == "redis":
        redis_url()

    def run(scenario: Scenario) -> None:
        async def main() -> None:
            clock = Clock()
            async with limiter_of(store, clock) as limiter:
                await scenario(limiter, clock, f"rateLimit:test:{uuid.uuid4().hex}")

        asyncio.run(main())

    return run


def test_the_request_after_the_limit_waits_for_the_oldest_to_leave(drive: Callable[[Scenario], None]) -> None:
    async def scenario(limiter: RateLimiter, clock: Clock, key: str) -> None:
        for _ in range(3):
            assert await limiter.hit(key, 3, 10) == 0.0
            clock.now += 1
        assert await limiter.hit(key, 3, 10) == pytest.approx(7.0)  # oldest at t0, now t0+3

    drive(scenario)


def test_the_window_slides_rather_than_resets(drive: Callable[[Scenario], None]) -> None:
    async def scenario(limiter: RateLimiter, clock: Clock, key: str) -> None:
        t0 = clock.now
        for offset in (0, 4, 8):
            clock.now = t0 + offset
            assert await limiter.hit(key, 3, 10) == 0.0
        clock.now = t0 + 9
        assert await limiter.hit(key, 3, 10) == pytest.approx(1.0)
        clock.now = t0 + 10  # the t0 entry is now a full window old
        assert await limiter.hit(key, 3, 10) == 0.0
        clock.now = t0 + 11  # the window holds t0+4, t0+8, t0+10
        assert await limiter.hit(key, 3, 10) == pytest.approx(3.0)
        clock.now = t0 + 14
        assert await limiter.hit(key, 3, 10) == 0.0

    drive(scenario)


def test_refused_requests_are_not_counted(drive: Callable[[Scenario], None]) -> None:
    async def scenario(limiter: RateLimiter, clock: Clock, key: str) -> None:
        t0 = clock.now
        assert await limiter.hit(key, 1, 10) == 0.0
        for step in range(1, 10):
            clock.now = t0 + step
            assert await limiter.hit(key, 1, 10) > 0
        clock.now = t0 + 10
        assert await limiter.hit(key, 1, 10) == 0.0

    drive(scenario)


def test_keys_are_counted_apart(drive: Callable[[Scenario], None]) -> None:
    async def scenario(limiter: RateLimiter, clock: Clock, key: str) -> None:
        assert await limiter.hit(key, 1, 60) == 0.0
        assert await limiter.hit(key, 1, 60) > 0
        assert await limiter.hit(key + ":other", 1, 60) == 0.0

    drive(scenario)


def test_a_lowered_limit_counts_only_the_newest_entries(drive: Callable[[Scenario], None]) -> None:
    async def scenario(limiter: RateLimiter, clock: Clock, key: str) -> None:
        t0 = clock.now
        for offset in range(5):
            clock.now = t0 + offset
            assert await limiter.hit(key, 5, 100) == 0.0
        clock.now = t0 + 5
        # Under a limit of 2 the second-newest entry (t0+3) decides: 98 s to go.
        assert await limiter.hit(key, 2, 100) == pytest.approx(98.0)

    drive(scenario)


def test_redis_keeps_one_apis_list_with_an_expiry() -> None:
    async def main() -> None:
        from redis.asyncio import from_url

        client = from_url(redis_url())
        key = f"rateLimit:test:{uuid.uuid4().hex}"
        try:
            limiter = RedisRateLimiter(client, Clock())
            for _ in range(4):
                await limiter.hit(key, 3, 180)
            assert await client.type(key) == b"list"
            assert await client.llen(key) == 3
            assert 0 < await client.ttl(key) <= IDLE_SECONDS
        finally:
            await client.delete(key)
            await client.aclose()

    asyncio.run(main())


def test_memory_forgets_idle_keys() -> None:
    async def main() -> None:
        clock = Clock()
        limiter = MemoryRateLimiter(clock)
        await limiter.hit("a", 5, 180)
        clock.now += 600
        await limiter.hit("b", 5, 180)
        assert len(limiter) == 2
        clock.now += IDLE_SECONDS - 600  # "a" idle for IDLE_SECONDS, "b" for less
        await limiter.hit("c", 5, 180)
        assert len(limiter) == 2

    asyncio.run(main())


def test_memory_keeps_no_time_older_than_the_window_however_large_the_limit() -> None:
    async def main() -> None:
        clock = Clock()
        limiter = MemoryRateLimiter(clock)
        for i in range(1_000):  # 2 requests a second for 500 s, a 10 s window
            clock.now = i * 0.5
            assert await limiter.hit("k", 1_000_000_000, 10) == 0.0
        assert limiter.slots("k") == 20  # 490.0 … 499.5: the last 10 s only
        assert await limiter.hit("k", 20, 10) == 0.5  # still exact: the 20 in the window refuse

    asyncio.run(main())


def test_memory_per_key_is_bounded_by_slots_not_by_the_request_rate() -> None:
    async def main() -> None:
        clock = Clock(0.0)
        limiter = MemoryRateLimiter(clock)
        for i in range(100_000):  # 1,000 requests a second for 100 s, a 180 s window
            clock.now = i / 1_000
            assert await limiter.hit("k", 1_000_000_000, 180) == 0.0
        assert limiter.slots("k") <= SLOTS_PER_WINDOW
        assert limiter.slots("k") == math.ceil(100 / (180 / SLOTS_PER_WINDOW))  # 0.18 s slots
        # The count stays whole: a limit of exactly what was admitted refuses, one more admits.
        assert await limiter.hit("k", 100_001, 180) == 0.0
        assert await limiter.hit("k", 100_001, 180) > 0

    asyncio.run(main())


def test_memory_errs_strict_by_less_than_one_slot_when_requests_share_it() -> None:
    async def main() -> None:
        clock = Clock(0.0)
        limiter = MemoryRateLimiter(clock)
        slot = 180 / SLOTS_PER_WINDOW
        clock.now = 10 * slot + 0.01  # two admissions in one slot, 0.1 s apart
        assert await limiter.hit("k", 2, 180) == 0.0
        clock.now += 0.1
        assert await limiter.hit("k", 2, 180) == 0.0
        first, second = 10 * slot + 0.01, 10 * slot + 0.11
        clock.now = first + 180  # the exact log would admit now; the slot leaves with `second`
        assert await limiter.hit("k", 2, 180) == pytest.approx(second - first)
        clock.now = second + 180
        assert await limiter.hit("k", 2, 180) == 0.0

    asyncio.run(main())


def test_key_hash_is_the_first_eight_bytes_of_sha256() -> None:
    assert key_hash("abc") == hashlib.sha256(b"abc").hexdigest()[:16]


def settings(**env: str) -> Settings:
    return Settings.from_env(env)


def test_an_unreachable_redis_is_reported_in_one_line() -> None:
    with pytest.raises(RedisUnavailable, match=r"^REDIS_CONN_STRING: cannot reach Redis: "):
        asyncio.run(open_redis(settings(REDIS_CONN_STRING="redis://127.0.0.1:1/0")))
    with pytest.raises(RedisUnavailable, match=r"^REDIS_CONN_STRING: "):
        asyncio.run(open_redis(settings(REDIS_CONN_STRING="http://not-redis")))


def test_without_redis_conn_string_there_is_no_client() -> None:
    assert asyncio.run(open_redis(settings())) is None


def test_sentinel_addresses_are_a_comma_list() -> None:
    assert sentinel_addresses("10.0.0.1:26379, redis://10.0.0.2:26380,10.0.0.3") == [
        ("10.0.0.1", 26379),
        ("10.0.0.2", 26380),
        ("10.0.0.3", 26379),
    ]


def test_disabled_or_zero_limits_admit_everything() -> None:
    async def main() -> None:
        off = RateLimits(settings(RATE_LIMIT_DISABLED="true", GLOBAL_API_RATE_LIMIT="1"))
        zero = RateLimits(settings(GLOBAL_API_RATE_LIMIT="0"))
        for _ in range(5):
            assert await off.hit(off.api, "ip") == 0.0
            assert await zero.hit(zero.api, "ip") == 0.0

    asyncio.run(main())


def test_channel_limit_counts_per_key_and_channel() -> None:
    async def main() -> None:
        limits = RateLimits(settings(GLOBAL_CHANNEL_RATE_LIMIT="true"))
        assert [await limits.admit_channel("key-a", 7, 2) for _ in range(3)] == [True, True, False]
        assert await limits.admit_channel("key-b", 7, 2)
        assert await limits.admit_channel("key-a", 8, 2)
        assert all([await limits.admit_channel("key-a", 9, 0) for _ in range(5)])  # 0 = no limit

    asyncio.run(main())


def test_channel_limit_is_off_unless_enabled() -> None:
    async def main() -> None:
        off = RateLimits(settings())
        disabled = RateLimits(settings(GLOBAL_CHANNEL_RATE_LIMIT="true", RATE_LIMIT_DISABLED="true"))
        for limits in (off, disabled):
            assert all([await limits.admit_channel("k", 1, 1) for _ in range(3)])

    asyncio.run(main())


class Recorder:
    """A limiter that records what it is asked and refuses marks listed in `refuse`."""

    def __init__(self, refuse: tuple[str, ...] = (), error: bool = False) -> None:
        self.seen: list[str] = []
        self.refuse = refuse
        self.error = error

    async def hit(self, key: str, limit: int, window: int) -> float:
        if self.error:
            raise RedisConnectionError("connection refused")
        self.seen.append(key)
        return 42.5 if any(f":{m}:" in key for m in self.refuse) else 0.0


def call(
    limiter: Recorder, path: str, headers: list[tuple[bytes, bytes]] | None = None, **env: str
) -> tuple[int, dict[bytes, bytes], Any, bool]:
    """(status, headers, JSON body, whether the inner app ran) of one request through the middleware."""
    reached = False

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        nonlocal reached
        reached = True
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    middleware = RateLimitMiddleware(inner, RateLimits(settings(**env), limiter))
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {
        "type": "http",
        "path": path,
        "headers": headers or [],
        "client": ("10.0.0.9", 5555),
        "state": {"request_id": "RID1"},
    }
    asyncio.run(middleware(scope, receive, send))
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), orjson.loads(body), reached


HASHED = key_hash("abc123")


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/api/status", [], ["rateLimit:GA:10.0.0.9"]),
        ("/api/user/login", [], ["rateLimit:GA:10.0.0.9", "rateLimit:CT:10.0.0.9"]),
        ("/api/oauth/github", [], ["rateLimit:GA:10.0.0.9", "rateLimit:CT:10.0.0.9"]),
        ("/api/reset_password", [], ["rateLimit:GA:10.0.0.9", "rateLimit:CT:10.0.0.9"]),
        ("/dashboard/billing/usage", [], ["rateLimit:GA:10.0.0.9"]),
        ("/v1/dashboard/billing/usage", [], ["rateLimit:GA:10.0.0.9"]),
        ("/", [], ["rateLimit:GW:10.0.0.9"]),
        ("/logs", [], ["rateLimit:GW:10.0.0.9"]),
        ("/v1/chat/completions", [(b"authorization", b"Bearer sk-abc123")], [f"rateLimit:GR:{HASHED}"]),
        ("/v1/chat/completions", [(b"authorization", b"Bearer abc123-7")], [f"rateLimit:GR:{HASHED}"]),
        ("/v1/messages", [(b"x-api-key", b"sk-abc123")], [f"rateLimit:GR:{HASHED}"]),
        ("/v2/rerank", [(b"authorization", b"Bearer sk-abc123")], [f"rateLimit:GR:{HASHED}"]),
        ("/api/paas/v4/layout_parsing", [(b"authorization", b"sk-abc123")], [f"rateLimit:GR:{HASHED}"]),
        ("/v1/chat/completions", [], []),  # no key: the relay answers 401 itself
        ("/v1/models", [(b"authorization", b"Bearer sk-abc123")], []),
    ],
)
def test_each_path_counts_under_its_limit(
    path: str, headers: list[tuple[bytes, bytes]], expected: list[str]
) -> None:
    limiter = Recorder()
    status, _, _, reached = call(limiter, path, headers)
    assert (status, reached) == (200, True)
    assert limiter.seen == expected


def test_refusal_is_429_with_one_apis_body_and_headers() -> None:
    status, headers, body, reached = call(
        Recorder(refuse=("CT",)), "/api/user/login", CRITICAL_RATE_LIMIT="7"
    )
    assert (status, reached) == (429, False)
    assert body == {"error": {"message": "rate limit exceeded (request id: RID1)", "type": "one_api_error"}}
    assert headers[b"ratelimit-limit"] == b"7"
    assert headers[b"ratelimit-remaining"] == b"0"
    assert headers[b"ratelimit-reset"] == headers[b"retry-after"] == b"43"


def test_a_failing_redis_fails_closed() -> None:
    status, _, body, reached = call(Recorder(error=True), "/api/status")
    assert (status, reached) == (500, False)
    assert body["error"]["message"] == "rate limiter unavailable (request id: RID1)"


def test_disabled_limits_never_ask_the_limiter() -> None:
    limiter = Recorder(error=True)
    for path in ("/api/user/login", "/", "/v1/chat/completions"):
        status, _, _, reached = call(
            limiter, path, [(b"authorization", b"Bearer sk-k")], RATE_LIMIT_DISABLED="true"
        )
        assert (status, reached) == (200, True)
