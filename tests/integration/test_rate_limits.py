"""Global rate limits over real HTTP (SPEC §9.1), counted in memory and in Redis.

Clients bind to different loopback addresses (127.0.0.1, 127.0.0.2) to be different IPs. Redis
runs use database 15 of ONEAPI_TEST_REDIS_URL and clear its `rateLimit:*` keys before each test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis

from tests.support.server import LiveServer

REDIS_ENV = "ONEAPI_TEST_REDIS_URL"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def redis_test_url() -> str:
    """ONEAPI_TEST_REDIS_URL on database 15, kept for these tests; skip without it."""
    url = os.environ.get(REDIS_ENV, "")
    if not url:
        pytest.skip(f"Redis tests need {REDIS_ENV} (set by CI), e.g. redis://127.0.0.1:6379/0")
    return urlunsplit(urlsplit(url)._replace(path="/15"))


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The environment selecting the limiter's store (Redis emptied of rate-limit keys)."""
    if request.param == "memory":
        yield {}
        return
    url = redis_test_url()
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter("rateLimit:*"))
    if keys:
        client.delete(*keys)
    yield {"REDIS_CONN_STRING": url}
    client.close()


@pytest.fixture
def limited(make_server: Callable[..., LiveServer], store: dict[str, str]) -> Callable[..., LiveServer]:
    def start(**env: str) -> LiveServer:
        return make_server(**store, **env)

    return start


@pytest.fixture
def clients() -> Iterator[Callable[..., httpx.Client]]:
    opened: list[httpx.Client] = []

    def open_client(server: LiveServer, ip: str = "127.0.0.1", **kw: Any) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=ip)
        client = httpx.Client(base_url=server.url, transport=transport, timeout=30, **kw)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def assert_refused(response: httpx.Response, limit: int, window: int) -> None:
    assert response.status_code == 429
    rid = response.headers["x-oneapi-request-id"]
    assert response.json() == {
        "error": {"message": f"rate limit exceeded (request id: {rid})", "type": "one_api_error"}
    }
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == "0"
    assert 0 < int(response.headers["retry-after"]) <= window
    assert response.headers["ratelimit-reset"] == response.headers["retry-after"]


def make_key(server: LiveServer, name: str) -> str:
    root = httpx.Client(base_url=server.url, timeout=30)
    login = root.post("/api/user/login", json={"username": "root", "password": "123456"}).json()
    assert login["success"], login
    created = root.post("/api/token/", json={"name": name, "remain_quota": 0, "unlimited_quota": True}).json()
    assert created["success"], created
    root.close()
    return str(created["data"]["key"])


def test_api_limit_refuses_the_next_request_from_that_ip_only(
    limited: Callable[..., LiveServer], clients: Callable[..., httpx.Client]
) -> None:
    server = limited(GLOBAL_API_RATE_LIMIT="5")
    first, other = clients(server), clients(server, "127.0.0.2")
    for _ in range(5):
        assert first.get("/api/status").status_code == 200
    assert_refused(first.get("/api/notice"), 5, 180)
    assert_refused(first.get("/dashboard/billing/usage"), 5, 180)  # the billing routes count as API
    assert other.get("/api/status").status_code == 200
    assert first.get("/some/console/page").status_code != 429  # web pages have their own limit


def test_critical_limit_guards_login_per_ip(
    limited: Callable[..., LiveServer], clients: Callable[..., httpx.Client]
) -> None:
    server = limited(CRITICAL_RATE_LIMIT="3")
    attacker, other = clients(server), clients(server, "127.0.0.2")
    wrong = {"username": "root", "password": "not-the-password"}
    for _ in range(3):
        body = attacker.post("/api/user/login", json=wrong).json()
        assert body["success"] is False
    assert_refused(attacker.post("/api/user/login", json=wrong), 3, 1200)
    assert_refused(attacker.post("/api/user/register", json={"username": "x", "password": "y"}), 3, 1200)
    assert attacker.get("/api/status").status_code == 200  # other API routes are not critical
    good = other.post("/api/user/login", json={"username": "root", "password": "123456"}).json()
    assert good["success"] is True


def test_relay_limit_counts_per_key(
    limited: Callable[..., LiveServer], clients: Callable[..., httpx.Client]
) -> None:
    server = limited(GLOBAL_RELAY_RATE_LIMIT="3")
    key_a, key_b = make_key(server, "a"), make_key(server, "b")
    http = clients(server)

    def chat(key: str) -> httpx.Response:
        return http.post("/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"})

    for _ in range(2):
        assert chat(key_a).status_code != 429
    assert chat(key_a.removeprefix("sk-")).status_code != 429  # the same key, without its prefix
    assert_refused(chat(key_a), 3, 180)
    assert chat(key_b).status_code != 429
    models = http.get("/v1/models", headers={"Authorization": f"Bearer {key_a}"})
    assert models.status_code == 200  # the model list is not relay-limited
    assert http.get("/api/status").status_code == 200  # nor is the management API by the relay limit


def test_web_limit_counts_console_pages_per_ip(
    limited: Callable[..., LiveServer], clients: Callable[..., httpx.Client]
) -> None:
    server = limited(GLOBAL_WEB_RATE_LIMIT="2")
    browser, other = clients(server), clients(server, "127.0.0.2")
    assert browser.get("/").status_code != 429
    assert browser.get("/logo.png").status_code != 429
    assert_refused(browser.get("/"), 2, 180)
    assert browser.get("/api/status").status_code == 200
    assert other.get("/").status_code != 429


def test_rate_limit_disabled_turns_every_limit_off(
    limited: Callable[..., LiveServer], clients: Callable[..., httpx.Client]
) -> None:
    server = limited(
        RATE_LIMIT_DISABLED="true",
        GLOBAL_API_RATE_LIMIT="1",
        CRITICAL_RATE_LIMIT="1",
        GLOBAL_WEB_RATE_LIMIT="1",
    )
    http = clients(server)
    for _ in range(4):
        assert http.get("/api/status").status_code == 200
        assert http.post("/api/user/login", json={"username": "root", "password": "x"}).status_code == 200
        assert http.get("/").status_code != 429


def test_a_zero_limit_is_no_limit(
    limited: Callable[..., LiveServer], clients: Callable[..., httpx.Client]
) -> None:
    server = limited(GLOBAL_API_RATE_LIMIT="0")
    http = clients(server)
    assert all(http.get("/api/status").status_code == 200 for _ in range(10))


def test_nodes_sharing_redis_share_the_count(
    make_server: Callable[..., LiveServer], clients: Callable[..., httpx.Client]
) -> None:
    url = redis_test_url()
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter("rateLimit:*"))
    if keys:
        client.delete(*keys)
    node_a = make_server(REDIS_CONN_STRING=url, GLOBAL_API_RATE_LIMIT="4")
    node_b = make_server(REDIS_CONN_STRING=url, GLOBAL_API_RATE_LIMIT="4")
    a, b = clients(node_a), clients(node_b)
    for http in (a, a, b, b):
        assert http.get("/api/status").status_code == 200
    assert_refused(a.get("/api/status"), 4, 180)
    assert_refused(b.get("/api/status"), 4, 180)
    key = "rateLimit:GA:127.0.0.1"
    assert client.type(key) == b"list" and client.llen(key) == 4
    assert 0 < client.ttl(key) <= 1200
    client.close()
