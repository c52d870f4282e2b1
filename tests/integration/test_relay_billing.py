"""Billing under load and failure: exact debits, the per-key cap, disconnects, timeouts, exhaustion."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import httpx
import openai
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def _setup(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, name: str, quota: int
) -> RelaySetup:
    setup = RelaySetup(server=server, root=root, user=make_user(name, quota=quota), key="", db=db)
    setup.key = setup.make_key()
    return setup


async def _fire(url: str, keys: list[str], count: int, body: dict[str, object]) -> list[int]:
    """`count` concurrent chat requests spread over `keys`; the status of each."""
    async with httpx.AsyncClient(
        base_url=url, timeout=60, limits=httpx.Limits(max_connections=count)
    ) as client:

        async def one(i: int) -> int:
            response = await client.post(
                "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {keys[i % len(keys)]}"}
            )
            return response.status_code

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def test_concurrent_requests_bill_exactly(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, upstream: FakeOpenAI
) -> None:
    alice = _setup(server, root, make_user, db, "alice", 10_000_000)
    bob = _setup(server, root, make_user, db, "bob", 10_000_000)
    alice.add_channel(upstream)
    keys = [alice.key, alice.make_key(name="k2", unlimited_quota=False, remain_quota=1_000_000), bob.key]
    upstream.script.delay = 0.05
    statuses = asyncio.run(_fire(server.url, keys, 150, CHAT))
    assert statuses.count(200) == 150
    alice.wait_flushed(150)
    logged = alice.scalar("SELECT SUM(quota) FROM logs WHERE type = 2")
    assert logged == 150 * 3
    debit = 20_000_000 - alice.scalar("SELECT SUM(quota) FROM users WHERE username IN ('alice', 'bob')")
    assert debit == logged
    assert alice.scalar("SELECT SUM(used_quota) FROM users WHERE username IN ('alice', 'bob')") == logged
    assert alice.scalar("SELECT SUM(request_count) FROM users") == 150
    assert alice.scalar("SELECT SUM(used_quota) FROM tokens") == logged
    assert alice.scalar("SELECT remain_quota FROM tokens WHERE name = 'k2'") == 1_000_000 - 50 * 3
    assert alice.scalar("SELECT COUNT(DISTINCT request_id) FROM logs WHERE type = 2") == 150
    assert alice.scalar("SELECT used_quota FROM channels") == logged
    # one cost row per request, written in batches, each with its request's quota
    costed = alice.scalar(
        "SELECT COUNT(*) FROM user_request_costs c JOIN logs l ON l.request_id = c.request_id "
        "WHERE l.type = 2 AND c.quota = l.quota AND c.user_id = l.user_id"
    )
    assert costed == alice.scalar("SELECT COUNT(*) FROM user_request_costs") == 150


def test_low_quota_key_of_a_rich_user_cannot_go_far_below_zero(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, upstream: FakeOpenAI
) -> None:
    relay = _setup(server, root, make_user, db, "rich", 10_000_000_000)
    relay.add_channel(upstream)
    key = relay.make_key(name="small", unlimited_quota=False, remain_quota=2000)
    upstream.script.delay = 0.2
    statuses = asyncio.run(_fire(server.url, [key], 100, {**CHAT, "max_tokens": 1000}))
    ok = statuses.count(200)
    assert 1 <= ok < 100
    assert set(statuses) <= {200, 401, 403}
    relay.wait_flushed(ok)
    remain = relay.scalar("SELECT remain_quota FROM tokens WHERE name = 'small'")
    assert remain == 2000 - 3 * ok
    assert remain >= 0


def test_user_running_out_is_refused_with_403(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, upstream: FakeOpenAI
) -> None:
    relay = _setup(server, root, make_user, db, "poor", 100)
    relay.add_channel(upstream)
    client = relay.client()
    served = 0
    with pytest.raises(openai.PermissionDeniedError) as info:
        for _ in range(40):
            client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
            served += 1
    assert "user quota is not enough" in str(info.value)
    # Each request reserves ceil-less (500 + prompt) × 0.075 ≈ 38 and costs 3: refused once < 38 is left.
    assert served == 21
    relay.wait_flushed(served)
    assert relay.scalar("SELECT quota FROM users WHERE username = 'poor'") == 100 - 3 * served


def test_client_disconnect_mid_stream_closes_upstream_and_bills_what_was_produced(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, upstream: FakeOpenAI
) -> None:
    relay = _setup(server, root, make_user, db, "leaver", 10_000_000)
    relay.add_channel(upstream)
    upstream.script.reply = "word " * 40
    upstream.script.stream_chunks = 40
    upstream.script.chunk_pause = 0.1
    with (
        httpx.Client(base_url=server.url, timeout=30) as client,
        client.stream(
            "POST",
            "/v1/chat/completions",
            json={**CHAT, "stream": True},
            headers={"Authorization": f"Bearer {relay.key}"},
        ) as response,
    ):
        seen = 0
        for line in response.iter_lines():
            if line.startswith("data: "):
                seen += 1
            if seen >= 4:
                break
    relay.wait_flushed(1)
    completion = relay.scalar("SELECT completion_tokens FROM logs WHERE type = 2")
    assert 1 <= completion < 40
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") > 0
    deadline = time.monotonic() + 5
    while upstream.started_streams and time.monotonic() < deadline and upstream.finished_streams == 0:
        time.sleep(0.1)
    assert upstream.finished_streams == 0  # the upstream request was cut, not read to the end


def test_upstream_timeout_is_504_and_refunded(
    make_server: Callable[..., LiveServer], make_user_on: Callable[..., RelaySetup], upstream: FakeOpenAI
) -> None:
    relay = make_user_on(make_server(RELAY_TIMEOUT="1"), "slow", 1_000_000)
    relay.add_channel(upstream)
    upstream.script.delay = 3
    with pytest.raises(openai.APIStatusError) as info:
        relay.client().chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert info.value.status_code == 504
    time.sleep(0.5)
    assert relay.scalar("SELECT quota FROM users WHERE username = 'slow'") == 1_000_000
    assert relay.scalar("SELECT COUNT(*) FROM logs WHERE type = 2") == 0


def test_disabled_key_stops_working_at_once(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, upstream: FakeOpenAI
) -> None:
    relay = _setup(server, root, make_user, db, "carol", 1_000_000)
    relay.add_channel(upstream)
    relay.client().chat.completions.create(**CHAT)  # type: ignore[call-overload]
    token = relay.user.get("/api/token/")["data"][0]
    assert relay.user.put("/api/token/?status_only=1", json={"id": token["id"], "status": 2})["success"]
    with pytest.raises(openai.AuthenticationError) as info:
        relay.client().chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert "status is not available (status: 2)" in str(info.value)


@pytest.fixture
def make_user_on(db: sa.Engine) -> Callable[..., RelaySetup]:
    """A relay set-up on a server started by the test (for extra environment variables)."""
    from tests.support.rows import insert_user

    def build(server: LiveServer, name: str, quota: int) -> RelaySetup:
        insert_user(db, name, "password123", quota=quota)
        admin, user = Api(server.url), Api(server.url)
        admin.login("root", "123456")
        user.login(name, "password123")
        setup = RelaySetup(server=server, root=admin, user=user, key="", db=db)
        setup.key = setup.make_key()
        return setup

    return build


def test_batched_writes_are_exact_and_flushed_at_shutdown(
    make_server: Callable[..., LiveServer], make_user_on: Callable[..., RelaySetup], upstream: FakeOpenAI
) -> None:
    """BATCH_UPDATE_ENABLED with a long interval: nothing is written until the server stops, then all."""
    server = make_server(BATCH_UPDATE_ENABLED="true", BATCH_UPDATE_INTERVAL="3600")
    relay = make_user_on(server, "batch", 1_000_000)
    relay.add_channel(upstream)
    statuses = asyncio.run(_fire(server.url, [relay.key], 40, CHAT))
    assert statuses.count(200) == 40
    time.sleep(0.3)
    assert relay.scalar("SELECT COUNT(*) FROM logs WHERE type = 2") == 0  # still batched in memory
    server.stop()
    assert relay.scalar("SELECT COUNT(*) FROM logs WHERE type = 2") == 40
    assert relay.scalar("SELECT SUM(quota) FROM logs WHERE type = 2") == 120
    assert relay.scalar("SELECT quota FROM users WHERE username = 'batch'") == 1_000_000 - 120
    assert relay.scalar("SELECT used_quota FROM tokens WHERE name = 'k'") == 120


def test_auth_failure_disables_the_channel_when_enabled(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, upstream: FakeOpenAI
) -> None:
    relay = _setup(server, root, make_user, db, "dora", 1_000_000)
    channel_id = relay.add_channel(upstream)
    assert root.put("/api/option/", json={"key": "AutomaticDisableChannelEnabled", "value": "true"})[
        "success"
    ]
    upstream.script.failures = [
        (
            401,
            {
                "error": {
                    "message": "Incorrect API key provided",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
        )
    ]
    with pytest.raises(openai.AuthenticationError):
        relay.client().chat.completions.create(**CHAT)  # type: ignore[call-overload]
    deadline = time.monotonic() + 5
    while (
        time.monotonic() < deadline
        and relay.scalar(f"SELECT status FROM channels WHERE id = {channel_id}") != 3
    ):
        time.sleep(0.05)
    assert relay.scalar(f"SELECT status FROM channels WHERE id = {channel_id}") == 3
    assert (
        relay.scalar(f"SELECT COUNT(*) FROM abilities WHERE channel_id = {channel_id} AND enabled = true")
        == 0
    )
    assert relay.scalar("SELECT quota FROM users WHERE username = 'dora'") == 1_000_000
