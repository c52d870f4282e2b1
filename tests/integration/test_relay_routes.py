"""The relay-key routes around the relay: model lists, 501 stubs, dashboard billing, request cost
and the raw proxy — over real HTTP, with the official SDK where it has the call."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer

USER_QUOTA = 10_000_000
BAD_KEY = "sk-" + "x" * 48


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    return RelaySetup.for_new_user(server, root, make_user, db, USER_QUOTA)


def _get(relay: RelaySetup, path: str, key: str | None = None) -> httpx.Response:
    return httpx.get(relay.server.url + path, headers={"Authorization": f"Bearer {key or relay.key}"})


def _chat(relay: RelaySetup, key: str | None = None) -> str:
    """One billed chat request; its request id."""
    raw = relay.client(key).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    return str(raw.headers["x-oneapi-request-id"])


# ---- /v1/models --------------------------------------------------------------------------------


def test_models_lists_the_groups_enabled_models_sorted_with_their_channel_type(
    relay: RelaySetup, upstream: FakeOpenAI
) -> None:
    relay.add_channel(upstream, name="oa", models="gpt-4o-mini,gpt-4o")
    relay.add_channel(upstream, name="claude", type=14, models="claude-3-haiku-20240307")
    relay.add_channel(upstream, name="vip", models="vip-only", group="vip")
    relay.add_channel(upstream, name="off", models="disabled-model", status=2)
    models = relay.client().models.list().data
    assert [m.id for m in models] == ["claude-3-haiku-20240307", "gpt-4o", "gpt-4o-mini"]
    owners = {m.id: m.owned_by for m in models}
    assert owners == {"claude-3-haiku-20240307": "anthropic", "gpt-4o": "openai", "gpt-4o-mini": "openai"}
    raw = _get(relay, "/v1/models").json()
    assert raw["object"] == "list"
    first = raw["data"][0]
    assert first["object"] == "model" and first["created"] == 1626777600
    assert first["root"] == first["id"] and first["parent"] is None
    assert first["permission"][0]["object"] == "model_permission"


def test_models_of_a_key_with_an_allow_list_are_exactly_that_list(
    relay: RelaySetup, upstream: FakeOpenAI
) -> None:
    relay.add_channel(upstream, models="gpt-4o-mini,gpt-4o")
    key = relay.make_key(name="narrow", models="gpt-4o,my-private-model")
    models = relay.client(key).models.list().data
    assert [(m.id, m.owned_by) for m in models] == [("gpt-4o", "openai"), ("my-private-model", "custom")]


def test_model_retrieve_finds_allowed_models_and_refuses_others_with_http_200(
    relay: RelaySetup, upstream: FakeOpenAI
) -> None:
    relay.add_channel(upstream, models="gpt-4o-mini,gpt-4o")
    model = relay.client().models.retrieve("gpt-4o-mini")
    assert (model.id, model.owned_by, model.object) == ("gpt-4o-mini", "openai", "model")
    assert _get(relay, "/v1/models/GPT-4o").json()["id"] == "gpt-4o"
    narrow = relay.make_key(name="narrow", models="gpt-4o")
    for key, name in ((relay.key, "nope"), (narrow, "gpt-4o-mini")):
        response = _get(relay, f"/v1/models/{name}", key)
        assert response.status_code == 200
        assert response.json() == {
            "error": {
                "message": f"The model '{name}' does not exist",
                "type": "invalid_request_error",
                "param": "model",
                "code": "model_not_found",
            }
        }


def test_models_refuse_a_bad_key_with_401(relay: RelaySetup) -> None:
    with pytest.raises(openai.AuthenticationError):
        relay.client(BAD_KEY).models.list()
    assert _get(relay, "/v1/models/gpt-4o", BAD_KEY).status_code == 401
    assert (
        httpx.get(relay.server.url + "/v1/models").json()["error"]["message"].startswith("No token provided")
    )


# ---- 501 stubs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/files"),
        ("POST", "/v1/fine_tuning/jobs"),
        ("DELETE", "/v1/models/gpt-4o"),
        ("GET", "/v1/assistants/asst_1"),
        ("POST", "/v1/threads"),
        ("POST", "/v1/images/variations"),
    ],
)
def test_unimplemented_apis_check_the_key_first_then_answer_501(
    relay: RelaySetup, method: str, path: str
) -> None:
    url = relay.server.url + path
    bad = httpx.request(method, url, headers={"Authorization": f"Bearer {BAD_KEY}"})
    assert bad.status_code == 401
    good = httpx.request(method, url, headers={"Authorization": f"Bearer {relay.key}"})
    assert good.status_code == 501
    error = good.json()["error"]
    assert error["code"] == "api_not_implemented" and error["type"] == "one_api_error"
    assert error["message"].startswith("API not implemented")


def test_sdk_sees_501_for_files(relay: RelaySetup) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        relay.client().files.list()
    assert caught.value.status_code == 501


# ---- dashboard billing -----------------------------------------------------------------------


def test_dashboard_billing_reports_the_keys_quota_in_dollars(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    expiry = int(time.time()) + 3600
    key = relay.make_key(name="lim", unlimited_quota=False, remain_quota=1_000_000, expired_time=expiry)
    _chat(relay, key)
    for prefix in ("", "/v1"):
        sub = _get(relay, f"{prefix}/dashboard/billing/subscription", key).json()
        assert sub == {
            "object": "billing_subscription",
            "has_payment_method": True,
            "soft_limit_usd": 2.0,
            "hard_limit_usd": 2.0,
            "system_hard_limit_usd": 2.0,
            "access_until": expiry,
        }
        usage = _get(relay, f"{prefix}/dashboard/billing/usage", key).json()
        assert usage == {"object": "list", "total_usage": pytest.approx(3 / 500000 * 100)}
    unlimited = _get(relay, "/dashboard/billing/subscription").json()
    assert unlimited["hard_limit_usd"] == 100000000 and unlimited["access_until"] == 0


def test_dashboard_billing_follows_the_display_options(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    _chat(relay)
    relay.wait_flushed(1)
    for option in ("DisplayInCurrencyEnabled", "DisplayTokenStatEnabled"):
        assert relay.root.put("/api/option/", json={"key": option, "value": "false"})["success"]
    sub = _get(relay, "/v1/dashboard/billing/subscription").json()
    assert sub["hard_limit_usd"] == USER_QUOTA  # the user's quota plus what it used, in quota units
    assert sub["access_until"] == 0
    assert _get(relay, "/v1/dashboard/billing/usage").json()["total_usage"] == 3 * 100


def test_dashboard_billing_refuses_a_bad_key(relay: RelaySetup) -> None:
    for name in ("subscription", "usage"):
        assert _get(relay, f"/dashboard/billing/{name}", BAD_KEY).status_code == 401


# ---- request cost ----------------------------------------------------------------------------


def test_request_cost_is_public_and_matches_the_log(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    relay.add_channel(upstream)
    rid = _chat(relay)
    relay.wait_flushed(1)
    cost = httpx.get(f"{relay.server.url}/api/cost/request/{rid}").json()
    logged = relay.scalar("SELECT quota FROM logs WHERE request_id = :r AND type = 2", r=rid)
    user_id = relay.scalar("SELECT id FROM users WHERE username = 'alice'")
    assert cost["request_id"] == rid and cost["user_id"] == user_id
    assert cost["quota"] == logged == 3
    assert cost["cost_usd"] == pytest.approx(logged / 500000)
    assert cost["created_time"] > 0 and cost["created_at"] > 0 and cost["updated_at"] > 0
    assert "success" not in cost


def test_request_cost_of_an_unknown_request(anon: Api) -> None:
    assert anon.get("/api/cost/request/20990101000000123") == {
        "success": False,
        "message": "failed to get cost by request id: record not found",
    }


# ---- proxy -----------------------------------------------------------------------------------


def _proxy(
    relay: RelaySetup,
    channel: int,
    target: str,
    key: str | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    **kw: Any,
) -> httpx.Response:
    sent = {"Authorization": f"Bearer {key or relay.key}", **(headers or {})}
    url = f"{relay.server.url}/v1/oneapi/proxy/{channel}{target}"
    return httpx.request(method, url, headers=sent, timeout=30, **kw)


def test_proxy_passes_the_request_through_with_the_channel_key(
    relay: RelaySetup, upstream: FakeOpenAI
) -> None:
    channel = relay.add_channel(upstream, group="vip")  # pinned by path: the user's group does not matter
    response = _proxy(
        relay,
        channel,
        "/echo/a%2Fb?status=201&x=1",
        method="PUT",
        content=b"raw \x00 bytes",
        headers={"X-Custom": "kept", "Accept-Encoding": "gzip"},
    )
    assert response.status_code == 201
    assert response.content == b"raw \x00 bytes"
    assert response.headers["x-echo"] == "yes"
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.headers["x-oneapi-request-id"]
    sent = upstream.received[-1]
    assert (sent.method, sent.path, sent.query) == ("PUT", "/echo/a/b", "status=201&x=1")
    sent_headers = {k.lower(): v for k, v in sent.headers.items()}
    assert sent_headers["authorization"] == "upstream-key"
    assert sent_headers["x-custom"] == "kept"
    assert sent_headers["host"] == f"127.0.0.1:{upstream.port}"
    assert sent.body == b"raw \x00 bytes"


def test_proxy_streams_bodies_both_ways(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    channel = relay.add_channel(upstream)
    upstream.script.chunk_pause = 0.3

    def body() -> Iterator[bytes]:
        yield b"first part;"
        yield b"second part"

    url = f"{relay.server.url}/v1/oneapi/proxy/{channel}/echo?chunks=3"
    headers = {"Authorization": f"Bearer {relay.key}"}
    arrivals: list[tuple[float, bytes]] = []
    started = time.monotonic()
    with httpx.stream("POST", url, headers=headers, content=body(), timeout=30) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            arrivals.append((time.monotonic() - started, chunk))
    received = b"".join(c for _, c in arrivals)
    assert received == b"first part;second partchunk-0\nchunk-1\nchunk-2\n"
    assert upstream.received[-1].body == b"first part;second part"
    first_at = next(t for t, c in arrivals if c)
    assert first_at < 0.6  # the echoed body came before the upstream finished (about 0.9 s)


def test_proxy_relays_an_sse_stream_and_upstream_errors_verbatim(
    relay: RelaySetup, upstream: FakeOpenAI
) -> None:
    channel = relay.add_channel(upstream)
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    streamed = _proxy(relay, channel, "/v1/chat/completions", method="POST", json=chat)
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert streamed.text.endswith("data: [DONE]\n\n") and '"delta":{"content":' in streamed.text
    assert "stream_options" not in upstream.received[-1].body  # the body went up untouched
    error = {"error": {"message": "slow down", "type": "rate_limit", "code": "rate"}}
    upstream.script.failures = [(429, error)]
    refused = _proxy(relay, channel, "/v1/chat/completions", method="POST", json=chat)
    assert refused.status_code == 429 and refused.json() == error


def test_proxy_is_not_billed_but_logged(relay: RelaySetup, upstream: FakeOpenAI) -> None:
    channel = relay.add_channel(upstream)
    response = _proxy(relay, channel, "/v1/chat/completions", method="POST", json={"model": "gpt-4o-mini"})
    assert response.status_code == 200
    relay.wait_flushed(1)
    with relay.db.connect() as conn:
        row = conn.execute(sa.text("SELECT model_name, quota, channel_id FROM logs WHERE type = 2")).one()
    assert tuple(row) == ("proxy", 0, channel)
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA
    assert relay.scalar("SELECT used_quota FROM tokens WHERE name = 'k'") == 0


def test_proxy_refuses_bad_keys_and_unknown_or_disabled_channels(
    relay: RelaySetup, upstream: FakeOpenAI
) -> None:
    channel = relay.add_channel(upstream)
    assert _proxy(relay, channel, "/v1/models", key=BAD_KEY).status_code == 401
    unknown = _proxy(relay, 9999, "/v1/models")
    assert unknown.status_code == 400 and "Invalid Channel Id: 9999" in unknown.json()["error"]["message"]
    off = relay.add_channel(upstream, name="off", status=2)
    assert _proxy(relay, off, "/v1/models").status_code == 403
    assert len(upstream.received) == 0
