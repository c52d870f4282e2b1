"""External consumption through a relay key (POST /api/token/consume) and GET /api/token/balance:
single charges, holds settled or released, auto-confirmation, refusals — checked in SQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer

USER_QUOTA = 10_000_000
KEY_QUOTA = 10_000


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    user = make_user("alice", quota=USER_QUOTA)
    setup = RelaySetup(server=server, root=root, user=user, key="", db=db)
    setup.key = setup.make_key(name="ext", unlimited_quota=False, remain_quota=KEY_QUOTA)
    return setup


def _consume(relay: RelaySetup, key: str | None = None, **body: Any) -> Any:
    headers = {"Authorization": f"Bearer {key or relay.key}"}
    return httpx.post(f"{relay.server.url}/api/token/consume", json=body, headers=headers).json()


def _balance(relay: RelaySetup, key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or relay.key}"}
    return httpx.get(f"{relay.server.url}/api/token/balance", headers=headers)


def _token(relay: RelaySetup, column: str, name: str = "ext") -> Any:
    return relay.scalar(f"SELECT {column} FROM tokens WHERE name = :n", n=name)


def _txn_status(relay: RelaySetup, tid: str) -> int:
    return int(relay.scalar("SELECT status FROM token_transactions WHERE transaction_id = :t", t=tid))


def test_single_charges_the_key_at_once_and_logs_it(relay: RelaySetup) -> None:
    body = _consume(relay, add_used_quota=100, add_reason="ocr pages")
    assert body["success"] and body["message"] == ""
    data, txn = body["data"], body["transaction"]
    assert data["key"] == relay.key and data["name"] == "ext"
    assert (data["remain_quota"], data["used_quota"]) == (KEY_QUOTA - 100, 100)
    assert txn["status"] == "confirmed" and txn["status_code"] == 2
    assert txn["pre_quota"] == txn["final_quota"] == 100
    assert txn["reason"] == "ocr pages" and txn["transaction_id"]
    relay.wait_flushed(1)
    assert (_token(relay, "remain_quota"), _token(relay, "used_quota")) == (KEY_QUOTA - 100, 100)
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA - 100
    assert relay.scalar("SELECT used_quota FROM users WHERE username = 'alice'") == 100
    with relay.db.connect() as conn:
        log = conn.execute(sa.text("SELECT * FROM logs WHERE type = 2")).mappings().one()
    assert (log["quota"], log["model_name"], log["token_name"]) == (100, "ocr pages", "ext")
    assert log["content"].startswith("External (ocr pages) finalized")


def test_pre_then_post_settles_the_hold_at_the_final_amount(relay: RelaySetup) -> None:
    held = _consume(relay, phase="pre", add_used_quota=500, add_reason="job", transaction_id="job-1")
    assert held["transaction"]["status"] == "pending" and held["transaction"]["expires_at"] > time.time()
    assert held["data"]["remain_quota"] == KEY_QUOTA - 500
    assert _balance(relay).json()["data"]["remain_quota"] == KEY_QUOTA - 500
    done = _consume(relay, phase="post", transaction_id="job-1", final_used_quota=300, add_reason="job")
    assert done["success"], done
    assert done["transaction"]["status"] == "confirmed"
    assert (done["transaction"]["pre_quota"], done["transaction"]["final_quota"]) == (500, 300)
    assert (done["data"]["remain_quota"], done["data"]["used_quota"]) == (KEY_QUOTA - 300, 300)
    again = _consume(relay, phase="post", transaction_id="job-1", final_used_quota=1, add_reason="job")
    assert again == {"success": False, "message": "transaction job-1 is already confirmed"}
    relay.wait_flushed(1)
    assert relay.scalar("SELECT SUM(quota) FROM logs WHERE type = 2") == 300
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA - 300
    assert _token(relay, "remain_quota") == KEY_QUOTA - 300
    assert _txn_status(relay, "job-1") == 2


def test_cancel_releases_the_hold(relay: RelaySetup) -> None:
    _consume(relay, phase="pre", add_used_quota=700, add_reason="job", transaction_id="j2")
    canceled = _consume(relay, phase="cancel", transaction_id="j2", add_reason="job")
    assert canceled["transaction"]["status"] == "canceled" and canceled["transaction"]["final_quota"] == 0
    assert canceled["data"]["remain_quota"] == KEY_QUOTA
    again = _consume(relay, phase="cancel", transaction_id="j2", add_reason="job")
    assert again["message"] == "transaction j2 cannot be canceled because it is canceled"
    time.sleep(0.5)
    assert relay.scalar("SELECT COUNT(*) FROM logs") == 0
    assert _token(relay, "remain_quota") == KEY_QUOTA
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA


def test_an_expired_hold_is_confirmed_by_the_next_call(relay: RelaySetup) -> None:
    _consume(relay, phase="pre", add_used_quota=400, add_reason="slow", transaction_id="t", timeout_seconds=1)
    time.sleep(2.1)
    late = _consume(relay, phase="post", transaction_id="t", final_used_quota=10, add_reason="slow")
    assert late == {"success": False, "message": "transaction t is already auto_confirmed"}
    assert _txn_status(relay, "t") == 3
    relay.wait_flushed(1)
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") == 400
    assert _token(relay, "remain_quota") == KEY_QUOTA - 400


def test_a_hold_that_emptied_the_key_can_still_be_settled(relay: RelaySetup) -> None:
    _consume(relay, phase="pre", add_used_quota=KEY_QUOTA, add_reason="all", transaction_id="big")
    assert _balance(relay).json()["data"] == {
        "remain_quota": 0,
        "used_quota": KEY_QUOTA,
        "unlimited_quota": False,
    }
    refused = _consume(relay, add_used_quota=1, add_reason="more")
    assert refused["message"].startswith("The available quota of the token has been used up")
    settled = _consume(relay, phase="post", transaction_id="big", final_used_quota=2500, add_reason="all")
    assert settled["success"] and settled["data"]["remain_quota"] == KEY_QUOTA - 2500


def test_zero_quota_single_is_a_free_audit_entry(relay: RelaySetup) -> None:
    body = _consume(relay, add_used_quota=0, add_reason="free tool")
    assert body["transaction"]["status"] == "confirmed" and body["transaction"]["final_quota"] == 0
    assert body["data"]["remain_quota"] == KEY_QUOTA
    relay.wait_flushed(1)
    assert relay.scalar("SELECT quota FROM logs WHERE type = 2") == 0


def test_consume_refusals(relay: RelaySetup) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"add_used_quota": 1, "add_reason": "  "}, "add_reason cannot be empty"),
        ({"add_used_quota": 1}, "add_reason cannot be empty"),
        ({"add_used_quota": 1, "add_reason": "x", "phase": "later"}, "unsupported phase: later"),
        ({"phase": "pre", "add_reason": "x"}, "add_used_quota must be greater than 0 for pre phase"),
        ({"phase": "post", "add_reason": "x"}, "transaction_id is required for post phase"),
        ({"phase": "cancel", "add_reason": "x"}, "transaction_id is required for cancel phase"),
        ({"phase": "post", "add_reason": "x", "transaction_id": "nope"}, "transaction nope not found"),
        ({"add_used_quota": -5, "add_reason": "x"}, "add_used_quota must not be negative"),
        ({"add_used_quota": "5", "add_reason": "x"}, "field 'add_used_quota' must be an integer, not string"),
        (
            {"add_used_quota": KEY_QUOTA + 1, "add_reason": "x"},
            "insufficient token quota: remaining 10000, need 10001",
        ),
    ]
    for body, message in cases:
        assert _consume(relay, **body) == {"success": False, "message": message}, body
    headers = {"Authorization": f"Bearer {relay.key}"}
    url = f"{relay.server.url}/api/token/consume"
    assert httpx.post(url, content=b"", headers=headers).json()["message"] == "unexpected EOF"
    assert httpx.post(url, content=b"{bad", headers=headers).json()["message"].startswith("invalid JSON")
    _consume(relay, add_used_quota=5, add_reason="x", transaction_id="dup")
    dup = _consume(relay, add_used_quota=5, add_reason="x", transaction_id="dup")
    assert dup == {"success": False, "message": "transaction dup already exists"}
    assert _balance(relay).json()["data"]["remain_quota"] == KEY_QUOTA - 5  # the duplicate was given back


def test_consume_refuses_disabled_expired_and_exhausted_keys(relay: RelaySetup) -> None:
    poor = relay.make_key(name="poor", unlimited_quota=False, remain_quota=50)
    assert _consume(relay, poor, add_used_quota=60, add_reason="x")["message"] == (
        "insufficient token quota: remaining 50, need 60"
    )
    empty = relay.make_key(name="empty", unlimited_quota=False, remain_quota=0)
    assert _consume(relay, empty, add_used_quota=1, add_reason="x")["message"] == (
        "The available quota of the token has been used up. Please add more quota or set it to unlimited"
    )
    expired = relay.make_key(name="old", expired_time=int(time.time()) - 10)
    assert _consume(relay, expired, add_used_quota=1, add_reason="x")["message"] == (
        "The token has expired and cannot be used. Please modify the expiration time of the token, "
        "or set it to never expire"
    )
    off = relay.make_key(name="off")
    token_id = relay.scalar("SELECT id FROM tokens WHERE name = 'off'")
    assert relay.user.put("/api/token/?status_only=1", json={"id": token_id, "status": 2})["success"]
    assert _consume(relay, off, add_used_quota=1, add_reason="x")["message"] == "API Key is not enabled"
    bad = httpx.post(
        f"{relay.server.url}/api/token/consume",
        json={"add_used_quota": 1, "add_reason": "x"},
        headers={"Authorization": "Bearer sk-" + "y" * 48},
    )
    assert bad.status_code == 401 and "token not found" in bad.json()["error"]["message"]


def test_balance_of_the_key(relay: RelaySetup) -> None:
    assert _balance(relay).json() == {
        "success": True,
        "message": "",
        "data": {"remain_quota": KEY_QUOTA, "used_quota": 0, "unlimited_quota": False},
    }
    _consume(relay, add_used_quota=42, add_reason="x")
    assert _balance(relay).json()["data"]["used_quota"] == 42  # before the write reaches the database
    unlimited = relay.make_key(name="free")
    assert _balance(relay, unlimited).json()["data"]["unlimited_quota"] is True
    assert _balance(relay, "sk-" + "z" * 48).status_code == 401
    assert httpx.get(f"{relay.server.url}/api/token/balance").status_code == 401


def test_racing_posts_settle_a_hold_once(relay: RelaySetup) -> None:
    _consume(relay, phase="pre", add_used_quota=1000, add_reason="race", transaction_id="r")

    async def fire() -> list[Any]:
        async with httpx.AsyncClient(base_url=relay.server.url, timeout=30) as client:
            body = {"phase": "post", "transaction_id": "r", "final_used_quota": 600, "add_reason": "race"}
            headers = {"Authorization": f"Bearer {relay.key}"}
            calls = [client.post("/api/token/consume", json=body, headers=headers) for _ in range(10)]
            return [r.json() for r in await asyncio.gather(*calls)]

    results = asyncio.run(fire())
    assert sum(1 for r in results if r["success"]) == 1
    relay.wait_flushed(1)
    time.sleep(0.3)
    assert relay.scalar("SELECT COUNT(*) FROM logs WHERE type = 2") == 1
    assert _token(relay, "remain_quota") == KEY_QUOTA - 600
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == USER_QUOTA - 600
