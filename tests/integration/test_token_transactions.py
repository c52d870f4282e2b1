"""GET /api/token/transactions: a key's external-billing transactions, newest first, paginated."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    setup = RelaySetup(server=server, root=root, user=make_user("tess", quota=1_000_000), key="", db=db)
    setup.key = setup.make_key(name="ext", unlimited_quota=False, remain_quota=100_000)
    return setup


def _call(relay: RelaySetup, method: str, path: str, key: str, **kw: object) -> httpx.Response:
    return httpx.request(
        method, relay.server.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=30, **kw
    )  # type: ignore[arg-type]


def test_transactions_are_listed_newest_first_per_key(relay: RelaySetup) -> None:
    for i in range(3):
        body = {"add_used_quota": 10 + i, "add_reason": f"job {i}", "transaction_id": f"t{i}"}
        assert _call(relay, "POST", "/api/token/consume", relay.key, json=body).json()["success"]
    other = relay.make_key(name="other", unlimited_quota=True)
    _call(relay, "POST", "/api/token/consume", other, json={"add_used_quota": 1, "add_reason": "x"})
    listed = _call(relay, "GET", "/api/token/transactions?p=0&size=2", relay.key).json()
    assert listed["success"] is True and listed["total"] == 3
    assert [t["transaction_id"] for t in listed["data"]] == ["t2", "t1"]
    assert listed["data"][0]["status"] == "confirmed" and listed["data"][0]["final_quota"] == 12
    second = _call(relay, "GET", "/api/token/transactions?p=1&size=2", relay.key).json()
    assert [t["transaction_id"] for t in second["data"]] == ["t0"]


def test_transactions_need_a_key(relay: RelaySetup) -> None:
    response = _call(relay, "GET", "/api/token/transactions", "sk-" + "x" * 48)
    assert response.status_code == 401
