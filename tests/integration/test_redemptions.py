"""Redemption codes and top-ups over HTTP: admin CRUD, redeem exactly once (also under a race),
the failed-redeem limit, admin credit and debit, log rows, and the relay seeing the new balance."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.relay import RelaySetup
from tests.support.rows import insert_user
from tests.support.server import LiveServer


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def relay(server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine) -> RelaySetup:
    user = make_user("alice", quota=0)
    setup = RelaySetup(server=server, root=root, user=user, key="", db=db)
    setup.key = setup.make_key()
    return setup


def _scalar(db: sa.Engine, sql: str, **params: Any) -> Any:
    with db.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def _key(db: sa.Engine) -> str:
    return "`key`" if db.dialect.name == "mysql" else '"key"'


def _id_of_key(db: sa.Engine, key: str) -> int:
    return int(_scalar(db, f"SELECT id FROM redemptions WHERE {_key(db)} = :k", k=key))


def _create(admin: Api, name: str = "gift", count: int = 1, quota: int = 1000) -> list[str]:
    body = admin.post("/api/redemption/", json={"name": name, "count": count, "quota": quota})
    assert body["success"], body
    return list(body["data"])


def _redeem(user: Api, key: str) -> Any:
    return user.post("/api/user/topup", json={"key": key})


# ---- admin CRUD -------------------------------------------------------------------------------


def test_bulk_create_returns_the_new_keys_and_stores_enabled_codes(root: Api, db: sa.Engine) -> None:
    keys = _create(root, name="launch", count=3, quota=2500)
    assert len(set(keys)) == 3
    assert all(len(k) == 32 and all(c in "0123456789abcdef" for c in k) for k in keys)
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM redemptions ORDER BY id")).mappings().all()
    assert [r["status"] for r in rows] == [1, 1, 1]
    assert {r["name"] for r in rows} == {"launch"} and {r["quota"] for r in rows} == {2500}
    root_id = _scalar(db, "SELECT id FROM users WHERE username = 'root'")
    assert {r["user_id"] for r in rows} == {root_id}
    assert all(r["created_time"] > 0 and r["redeemed_time"] == 0 for r in rows)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "", "count": 1, "quota": 1}, "Redemption name cannot be empty"),
        ({"name": "   ", "count": 1, "quota": 1}, "Redemption name cannot be empty"),
        ({"name": "x" * 21, "count": 1, "quota": 1}, "Redemption name is too long: at most 20 bytes"),
        ({"name": "ok", "count": 0, "quota": 1}, "Count must be between 1 and 100"),
        ({"name": "ok", "count": 101, "quota": 1}, "Count must be between 1 and 100"),
        ({"name": "ok", "count": 1, "quota": -5}, "Quota must be greater than 0"),
        ({"name": "ok", "count": "3", "quota": 1}, "field 'count' must be an integer, not string"),
        ({"name": 7, "count": 1, "quota": 1}, "field 'name' must be a string, not integer"),
        ([1, 2], "request body must be a JSON object"),
    ],
)
def test_create_refuses_bad_input_clearly(root: Api, db: sa.Engine, body: Any, message: str) -> None:
    response = root.http.post("/api/redemption/", json=body)
    assert response.status_code == 200
    assert response.json() == {"success": False, "message": message}
    assert _scalar(db, "SELECT COUNT(*) FROM redemptions") == 0


def test_malformed_json_is_a_clear_error(root: Api) -> None:
    for method in ("POST", "PUT"):
        response = root.http.request(method, "/api/redemption/", content=b"{")
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is False and body["message"].startswith("invalid JSON")
    assert root.http.put("/api/redemption/", content=b"").json()["message"] == "unexpected EOF"


def test_create_of_a_hundred_codes_at_once(root: Api, db: sa.Engine) -> None:
    assert len(_create(root, count=100)) == 100
    assert _scalar(db, "SELECT COUNT(DISTINCT " + _key(db) + ") FROM redemptions") == 100


def test_get_one_code_and_unknown_ids(root: Api, db: sa.Engine) -> None:
    key = _create(root, name="one", quota=42)[0]
    code_id = _id_of_key(db, key)
    got = root.get(f"/api/redemption/{code_id}")
    assert got["success"] and got["data"]["key"] == key
    assert got["data"]["name"] == "one" and got["data"]["quota"] == 42 and got["data"]["status"] == 1
    for missing in (code_id + 1000, 0, 2**63):
        assert root.get(f"/api/redemption/{missing}") == {
            "success": False,
            "message": "Redemption code does not exist",
        }


def test_list_is_paginated_with_total_and_sortable(root: Api) -> None:
    for quota in range(1, 16):
        _create(root, name=f"c{quota:02d}", quota=quota)
    first = root.get("/api/redemption/", params={"p": 0, "size": 10})
    assert first["success"] and first["total"] == 15 and len(first["data"]) == 10
    assert first["data"][0]["name"] == "c15"  # newest first by default
    second = root.get("/api/redemption/", params={"p": 1, "size": 10})
    assert len(second["data"]) == 5 and second["total"] == 15
    by_quota = root.get("/api/redemption/", params={"sort": "quota", "order": "asc", "size": 3})
    assert [r["quota"] for r in by_quota["data"]] == [1, 2, 3]
    unknown_sort = root.get("/api/redemption/", params={"sort": "key", "size": 2})
    assert [r["name"] for r in unknown_sort["data"]] == ["c15", "c14"]
    huge = root.get("/api/redemption/", params={"size": 100000})
    assert len(huge["data"]) == 15


def test_search_by_name_prefix_or_exact_id(root: Api, db: sa.Engine) -> None:
    for i in range(12):
        _create(root, name=f"spring-{i}")
    key = _create(root, name="autumn")[0]
    found = root.get("/api/redemption/search", params={"keyword": "spring", "size": 5})
    assert found["success"] and found["total"] == 12 and len(found["data"]) == 5
    assert all(r["name"].startswith("spring") for r in found["data"])
    last_page = root.get("/api/redemption/search", params={"keyword": "spring", "size": 5, "p": 2})
    assert len(last_page["data"]) == 2
    code_id = _id_of_key(db, key)
    by_id = root.get("/api/redemption/search", params={"keyword": str(code_id)})
    assert [r["key"] for r in by_id["data"]] == [key] and by_id["total"] == 1
    assert root.get("/api/redemption/search", params={"keyword": "pring"})["total"] == 0
    assert root.get("/api/redemption/search", params={"keyword": "%"})["total"] == 0


def test_update_changes_name_and_quota_but_not_status(root: Api, db: sa.Engine) -> None:
    code_id = _id_of_key(db, _create(root, name="old", quota=10)[0])
    body = root.put("/api/redemption/", json={"id": code_id, "name": "new", "quota": 99, "status": 2})
    assert body["success"], body
    assert body["data"]["name"] == "new" and body["data"]["quota"] == 99 and body["data"]["status"] == 1
    assert _scalar(db, "SELECT status FROM redemptions WHERE id = :i", i=code_id) == 1
    assert root.put("/api/redemption/", json={"id": code_id, "name": ""})["message"] == (
        "Redemption name cannot be empty"
    )
    assert root.put("/api/redemption/", json={"id": code_id, "quota": "9"})["message"] == (
        "field 'quota' must be an integer, not string"
    )
    assert root.put("/api/redemption/", json={"name": "x"})["message"] == "redemption id is required"
    assert root.put("/api/redemption/", json={"id": code_id + 50, "name": "x"})["message"] == (
        "Redemption code does not exist"
    )


def test_status_only_update_changes_only_the_status(root: Api, db: sa.Engine) -> None:
    code_id = _id_of_key(db, _create(root, name="keep", quota=10)[0])
    body = root.put("/api/redemption/?status_only=1", json={"id": code_id, "status": 2, "name": "nope"})
    assert body["success"], body
    assert body["data"]["status"] == 2 and body["data"]["name"] == "keep"
    assert _scalar(db, "SELECT name FROM redemptions WHERE id = :i", i=code_id) == "keep"
    bad = root.put("/api/redemption/?status_only=1", json={"id": code_id, "status": 7})
    assert bad == {"success": False, "message": "status must be 1 (enabled), 2 (disabled) or 3 (used)"}


def test_delete_removes_the_code(root: Api, db: sa.Engine) -> None:
    code_id = _id_of_key(db, _create(root)[0])
    assert root.delete(f"/api/redemption/{code_id}") == {"success": True, "message": ""}
    assert _scalar(db, "SELECT COUNT(*) FROM redemptions") == 0
    assert root.delete(f"/api/redemption/{code_id}")["message"] == "Redemption code does not exist"


def test_common_users_and_strangers_are_refused_admin_routes(
    root: Api, anon: Api, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    code_id = _id_of_key(db, _create(root)[0])
    user = make_user("bob")
    root_quota = _scalar(db, "SELECT quota FROM users WHERE username = 'root'")
    calls = [
        ("GET", "/api/redemption/", None),
        ("GET", "/api/redemption/search?keyword=g", None),
        ("GET", f"/api/redemption/{code_id}", None),
        ("POST", "/api/redemption/", {"name": "x", "count": 1, "quota": 1}),
        ("PUT", "/api/redemption/", {"id": code_id, "name": "x"}),
        ("DELETE", f"/api/redemption/{code_id}", None),
        ("POST", "/api/topup", {"user_id": 1, "quota": 5}),
    ]
    for method, path, body in calls:
        assert user.http.request(method, path, json=body).status_code == 403, path
        assert anon.http.request(method, path, json=body).status_code == 401, path
    assert _scalar(db, "SELECT name FROM redemptions WHERE id = :i", i=code_id) == "gift"
    assert _scalar(db, "SELECT quota FROM users WHERE username = 'root'") == root_quota
    assert anon.http.post("/api/user/topup", json={"key": "x"}).status_code == 401


def test_an_admin_manages_codes(root: Api, make_user: Callable[..., Api]) -> None:
    admin = make_user("manager", role=10)
    keys = _create(admin, name="by-admin", count=2)
    assert len(keys) == 2 and admin.get("/api/redemption/")["total"] == 2


# ---- redeeming --------------------------------------------------------------------------------


def _topup_logs(db: sa.Engine) -> list[sa.RowMapping]:
    with db.connect() as conn:
        sql = "SELECT * FROM logs WHERE type = 1 ORDER BY id"
        return list(conn.execute(sa.text(sql)).mappings().all())


def test_a_code_is_redeemed_once_and_logged(root: Api, make_user: Callable[..., Api], db: sa.Engine) -> None:
    user = make_user("carol", quota=500)
    key = _create(root, quota=1000)[0]
    assert _redeem(user, key) == {"success": True, "message": "", "data": 1000}
    assert _scalar(db, "SELECT quota FROM users WHERE username = 'carol'") == 1500
    code_id = _id_of_key(db, key)
    assert _scalar(db, "SELECT status FROM redemptions WHERE id = :i", i=code_id) == 3
    assert _scalar(db, "SELECT redeemed_time FROM redemptions WHERE id = :i", i=code_id) > 0
    assert _redeem(user, key) == {"success": False, "message": "The redemption code has been used"}
    assert _scalar(db, "SELECT quota FROM users WHERE username = 'carol'") == 1500
    [entry] = _topup_logs(db)
    assert entry["content"] == "Recharged ＄0.002000 quota using redemption code"
    assert entry["username"] == "carol" and entry["quota"] == 1000
    assert entry["user_id"] == _scalar(db, "SELECT id FROM users WHERE username = 'carol'")


def test_the_log_counts_points_when_currency_display_is_off(
    root: Api, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    assert root.put("/api/option/", json={"key": "DisplayInCurrencyEnabled", "value": "false"})["success"]
    user = make_user("dave")
    assert _redeem(user, _create(root, quota=1234)[0])["data"] == 1234
    assert [e["content"] for e in _topup_logs(db)] == ["Recharged 1234 point quota using redemption code"]


def test_unknown_disabled_and_malformed_codes_are_refused(
    root: Api, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    user = make_user("erin", quota=7)
    disabled = _create(root)[0]
    assert root.put("/api/redemption/?status_only=1", json={"id": _id_of_key(db, disabled), "status": 2})[
        "success"
    ]
    assert _redeem(user, "0" * 32)["message"] == "Invalid redemption code"
    assert _redeem(user, "")["message"] == "Invalid redemption code"
    assert _redeem(user, "x" * 500)["message"] == "Invalid redemption code"
    assert _redeem(user, disabled)["message"] == "The redemption code has been used"
    assert (
        user.post("/api/user/topup", json={"key": 5})["message"]
        == "field 'key' must be a string, not integer"
    )
    assert user.post("/api/user/topup", content=b"{")["message"].startswith("invalid JSON")
    assert _scalar(db, "SELECT quota FROM users WHERE username = 'erin'") == 7
    assert _topup_logs(db) == []


def test_repeated_failures_are_answered_with_429(
    root: Api, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    user, other = make_user("mallory"), make_user("frank")
    key = _create(root, quota=300)[0]
    for _ in range(5):  # REDEEM_FAILURE_RATE_LIMIT defaults to 5 per 600 s
        assert _redeem(user, "f" * 32)["message"] == "Invalid redemption code"
    response = user.http.post("/api/user/topup", json={"key": key})
    assert response.status_code == 429
    assert response.json() == {
        "success": False,
        "message": "Too many failed redemption attempts, please try again in 10 minutes",
    }
    assert _scalar(db, "SELECT status FROM redemptions WHERE id = :i", i=_id_of_key(db, key)) == 1
    assert _redeem(other, key)["data"] == 300  # the limit is per user


def test_twenty_parallel_redeems_of_one_code_credit_once(
    make_server: Callable[..., LiveServer], db: sa.Engine
) -> None:
    server = make_server(REDEEM_FAILURE_RATE_LIMIT="0")  # every loser must reach the database
    root = Api(server.url)
    root.login("root", "123456")
    insert_user(db, "racer", "password123", quota=10)
    racer = Api(server.url)
    racer.login("racer", "password123")
    key = _create(root, quota=5000)[0]
    start = threading.Barrier(20)
    answers: list[Any] = []

    def attempt() -> None:
        with httpx.Client(base_url=server.url, cookies=racer.http.cookies, timeout=60) as client:
            start.wait()
            answers.append(client.post("/api/user/topup", json={"key": key}).json())

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    root.close()
    racer.close()
    assert len(answers) == 20
    assert [a for a in answers if a["success"]] == [{"success": True, "message": "", "data": 5000}]
    assert {a["message"] for a in answers if not a["success"]} == {"The redemption code has been used"}
    assert _scalar(db, "SELECT quota FROM users WHERE username = 'racer'") == 5010
    assert len(_topup_logs(db)) == 1


# ---- admin top-up -----------------------------------------------------------------------------


def test_admin_top_up_credits_debits_and_logs_the_remark(
    root: Api, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    make_user("gina", quota=100)
    uid = _scalar(db, "SELECT id FROM users WHERE username = 'gina'")
    credited = root.post("/api/topup", json={"user_id": uid, "quota": 400, "remark": "invoice 17"})
    assert credited == {"success": True, "message": "", "data": 500}
    debited = root.post("/api/topup", json={"user_id": uid, "quota": -200, "remark": "refund 3"})
    assert debited["data"] == 300
    assert _scalar(db, "SELECT quota FROM users WHERE id = :i", i=uid) == 300
    logs = _topup_logs(db)
    assert [(e["content"], e["quota"], e["username"]) for e in logs] == [
        ("invoice 17", 400, "gina"),
        ("refund 3", -200, "gina"),
    ]
    assert root.post("/api/topup", json={"user_id": uid, "quota": 500000})["data"] == 500300
    assert _topup_logs(db)[-1]["content"] == "Recharged via API ＄1.000000 quota"


def test_admin_top_up_refusals(root: Api, make_user: Callable[..., Api], db: sa.Engine) -> None:
    make_user("hank", quota=100)
    uid = _scalar(db, "SELECT id FROM users WHERE username = 'hank'")
    cases = [
        ({"user_id": uid, "quota": -101}, "The user's quota cannot go below zero"),
        ({"user_id": uid, "quota": 0}, "Top-up quota cannot be zero"),
        ({"user_id": uid + 999, "quota": 5}, "User does not exist"),
        ({"user_id": 0, "quota": 5}, "User does not exist"),
        ({"user_id": str(uid), "quota": 5}, "field 'user_id' must be an integer, not string"),
        ({"user_id": uid, "quota": 2**64}, "field 'quota' must be an integer, not number"),
    ]
    for body, message in cases:
        response = root.http.post("/api/topup", json=body)
        assert response.status_code == 200
        assert response.json() == {"success": False, "message": message}, body
    assert root.post("/api/topup", json={"user_id": uid, "quota": -100})["data"] == 0
    assert _scalar(db, "SELECT quota FROM users WHERE id = :i", i=uid) == 0


# ---- the relay sees the new balance at once ---------------------------------------------------


def _chat(relay: RelaySetup) -> Any:
    return relay.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )


@pytest.mark.parametrize("how", ["redeem", "admin top-up"])
def test_relay_uses_the_new_balance_at_once(relay: RelaySetup, upstream: FakeOpenAI, how: str) -> None:
    relay.add_channel(upstream)
    with pytest.raises(openai.PermissionDeniedError):
        _chat(relay)  # quota 0, and the relay has now cached alice's account
    if how == "redeem":
        assert _redeem(relay.user, _create(relay.root, quota=1_000_000)[0])["success"]
    else:
        uid = relay.scalar("SELECT id FROM users WHERE username = 'alice'")
        assert relay.root.post("/api/topup", json={"user_id": uid, "quota": 1_000_000})["success"]
    assert _chat(relay).choices[0].message.content == "Hello from the fake upstream."
    relay.wait_flushed(1)
    assert relay.scalar("SELECT quota FROM users WHERE username = 'alice'") == 1_000_000 - 3
