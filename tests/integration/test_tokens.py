"""/api/token/*: a user's relay keys over real HTTP (SPEC §1.3 Tokens, §2.2, §3.5, §11)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tests.support.client import Api
from tests.support.rows import quoted
from tests.support.server import LiveServer

EXPIRED_MESSAGE = (
    "The token has expired and cannot be enabled. Please modify the expiration time of the token, "
    "or set it to never expire."
)
EXHAUSTED_MESSAGE = (
    "The available quota of the token has been used up and cannot be enabled. Please modify the "
    "remaining quota of the token, or set it to unlimited quota."
)
DTO_FIELDS = {
    *("id", "user_id", "key", "status", "name", "created_time", "accessed_time", "expired_time"),
    *("remain_quota", "unlimited_quota", "used_quota", "models", "subnet", "created_at", "updated_at"),
}


def create(api: Api, name: str = "key", **fields: Any) -> dict[str, Any]:
    body = api.post("/api/token/", json={"name": name, **fields})
    assert body["success"], body
    return dict(body["data"])


def stored(db: sa.Engine, token_id: int) -> dict[str, Any] | None:
    k = quoted(db, "key")
    with db.connect() as conn:
        row = conn.execute(
            sa.text(f"SELECT {k} AS k, name, status, remain_quota, models, subnet FROM tokens WHERE id = :i"),
            {"i": token_id},
        ).first()
    return dict(row._mapping) if row else None


def set_row(db: sa.Engine, token_id: int, **values: Any) -> None:
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    with db.begin() as conn:
        conn.execute(sa.text(f"UPDATE tokens SET {assignments} WHERE id = :id"), {**values, "id": token_id})


def names(body: dict[str, Any]) -> list[str]:
    assert body["success"], body
    return [token["name"] for token in body["data"]]


# --- create -------------------------------------------------------------------------------------


def test_create_returns_the_full_dto_with_prefixed_key_stored_bare(
    make_user: Callable[..., Api], db: sa.Engine
) -> None:
    alice = make_user("alice")
    before = int(time.time())
    body = alice.post("/api/token/", json={"name": "laptop", "remain_quota": 500, "expired_time": -1})
    assert body["success"] is True and body["message"] == ""
    token = body["data"]
    assert set(token) == DTO_FIELDS
    assert token["key"].startswith("sk-") and len(token["key"]) == 51
    assert token["status"] == 1 and token["used_quota"] == 0 and token["remain_quota"] == 500
    assert token["expired_time"] == -1 and token["unlimited_quota"] is False
    assert token["models"] == "" and token["subnet"] == ""
    assert before <= token["created_time"] == token["accessed_time"] <= int(time.time())
    assert token["created_at"] >= before * 1000
    row = stored(db, token["id"])
    assert row is not None and row["k"] == token["key"][3:] and len(row["k"]) == 48


def test_create_keeps_unlimited_expiry_and_trims_model_names(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    token = create(
        alice,
        "ci",
        unlimited_quota=True,
        expired_time=4102444800,
        models=" gpt-4o , gpt-4o-mini,claude-3-5-sonnet ",
        subnet="10.0.0.0/8, 192.168.1.0/24",
    )
    assert token["unlimited_quota"] is True and token["expired_time"] == 4102444800
    assert token["models"] == "gpt-4o,gpt-4o-mini,claude-3-5-sonnet"
    assert token["subnet"] == "10.0.0.0/8,192.168.1.0/24"


def test_each_new_token_gets_its_own_key(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    keys = {create(alice, f"k{i}")["key"] for i in range(5)}
    assert len(keys) == 5


def test_create_with_empty_body_reports_the_decoder_error(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    response = alice.http.post("/api/token/", content=b"")
    assert response.status_code == 200
    assert response.json() == {"success": False, "message": "unexpected EOF"}


def test_create_validates_name(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    for body in ({}, {"name": ""}, {"name": "   "}):
        assert alice.post("/api/token/", json=body) == {"success": False, "message": "Token name is required"}
    too_long = alice.post("/api/token/", json={"name": "x" * 31})
    assert too_long == {"success": False, "message": "invalid token: Token name is too long"}
    assert create(alice, "x" * 30)["name"] == "x" * 30


def test_create_rejects_an_invalid_network_segment(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    for subnet, bad in (
        ("10.0.0.0/8,nonsense", "nonsense"),
        ("10.0.0.1", "10.0.0.1"),
        ("1.2.3.4/40", "1.2.3.4/40"),
    ):
        body = alice.post("/api/token/", json={"name": "n", "subnet": subnet})
        assert body == {"success": False, "message": f"invalid token: invalid network segment: {bad}"}
    assert create(alice, subnet="2001:db8::/32")["subnet"] == "2001:db8::/32"


def test_wrong_field_types_name_the_field(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    response = alice.http.post("/api/token/", json={"name": 5})
    assert response.status_code == 200
    assert response.json() == {"success": False, "message": "field 'name' must be a string, not integer"}
    body = alice.post("/api/token/", json={"name": "n", "remain_quota": "x"})
    assert body == {"success": False, "message": "field 'remain_quota' must be an integer, not string"}
    body = alice.post("/api/token/", json={"name": "n", "unlimited_quota": 1})
    assert body == {"success": False, "message": "field 'unlimited_quota' must be a boolean, not integer"}
    body = alice.put("/api/token/", json={"id": "1", "name": "n"})
    assert body == {"success": False, "message": "field 'id' must be an integer, not string"}
    assert alice.post("/api/token/", json=["name"])["success"] is False


def test_token_routes_need_a_login(anon: Api) -> None:
    response = anon.http.get("/api/token/")
    assert response.status_code == 401 and response.json()["success"] is False
    assert anon.http.post("/api/token/", json={"name": "n"}).status_code == 401


# --- read, ownership ----------------------------------------------------------------------------


def test_get_returns_own_token(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    token = create(alice, "mine")
    assert alice.get(f"/api/token/{token['id']}") == {"success": True, "message": "", "data": token}


def test_users_cannot_read_update_or_delete_each_others_tokens(
    make_user: Callable[..., Api], db: sa.Engine
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    token = create(alice, "secret")
    bob_id = bob.get("/api/user/self")["data"]["id"]
    expected = {
        "success": False,
        "message": f"failed to get token by id={token['id']} and userId={bob_id}: record not found",
    }
    assert bob.get(f"/api/token/{token['id']}") == expected
    assert bob.put("/api/token/", json={"id": token["id"], "name": "stolen", "status": 2}) == expected
    assert bob.put("/api/token/?status_only=1", json={"id": token["id"], "status": 2}) == expected
    assert bob.delete(f"/api/token/{token['id']}") == expected
    assert names(bob.get("/api/token/")) == [] and bob.get("/api/token/")["total"] == 0
    assert names(bob.get("/api/token/search?keyword=sec")) == []
    row = stored(db, token["id"])
    assert row is not None and row["name"] == "secret" and row["status"] == 1


def test_unknown_token_id_is_record_not_found(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    uid = alice.get("/api/user/self")["data"]["id"]
    message = f"failed to get token by id=999 and userId={uid}: record not found"
    assert alice.get("/api/token/999") == {"success": False, "message": message}
    assert alice.delete("/api/token/999") == {"success": False, "message": message}


# --- list, pagination, sorting, search ----------------------------------------------------------


def test_list_shows_only_own_tokens_newest_first_with_total(make_user: Callable[..., Api]) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    for name in ("a1", "a2", "a3"):
        create(alice, name)
    create(bob, "b1")
    body = alice.get("/api/token/")
    assert names(body) == ["a3", "a2", "a1"] and body["total"] == 3
    assert all(token["key"].startswith("sk-") for token in body["data"])


def test_list_pages_with_zero_based_p_and_size(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    for i in range(5):
        create(alice, f"t{i}")
    assert names(alice.get("/api/token/?p=0&size=2")) == ["t4", "t3"]
    assert names(alice.get("/api/token/?p=1&size=2")) == ["t2", "t1"]
    last = alice.get("/api/token/?p=2&size=2")
    assert names(last) == ["t0"] and last["total"] == 5
    assert names(alice.get("/api/token/?p=-3&size=2")) == ["t4", "t3"]


def test_page_size_is_capped_by_max_items_per_page(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(MAX_ITEMS_PER_PAGE="3")
    root = Api(server.url)
    root.login("root", "123456")
    for i in range(5):
        create(root, f"t{i}")
    body = root.get("/api/token/?size=50")
    assert names(body) == ["t4", "t3", "t2"] and body["total"] == 5
    root.close()


def test_list_sorts_by_whitelisted_columns(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    create(alice, "bravo", remain_quota=30)
    create(alice, "alpha", remain_quota=10)
    create(alice, "charlie", remain_quota=20)
    assert names(alice.get("/api/token/?sort=name&order=asc")) == ["alpha", "bravo", "charlie"]
    assert names(alice.get("/api/token/?sort=name")) == ["charlie", "bravo", "alpha"]
    assert names(alice.get("/api/token/?sort=remain_quota&order=asc")) == ["alpha", "charlie", "bravo"]
    assert names(alice.get("/api/token/?sort=key&order=asc")) == ["charlie", "alpha", "bravo"]


def test_legacy_order_values_sort_by_quota(make_user: Callable[..., Api], db: sa.Engine) -> None:
    alice = make_user("alice")
    create(alice, "small", remain_quota=5)
    create(alice, "free", unlimited_quota=True)
    big = create(alice, "big", remain_quota=500)
    used = create(alice, "used", remain_quota=1)
    set_row(db, used["id"], used_quota=900)
    set_row(db, big["id"], used_quota=100)
    assert names(alice.get("/api/token/?order=remain_quota")) == ["free", "big", "small", "used"]
    assert names(alice.get("/api/token/?order=used_quota"))[:2] == ["used", "big"]


def test_search_matches_name_prefix_paginated_with_total(make_user: Callable[..., Api]) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    for name in ("prod-a", "prod-b", "prod-c", "staging-prod", "100%_x"):
        create(alice, name)
    create(bob, "prod-bob")
    body = alice.get("/api/token/search?keyword=prod")
    assert names(body) == ["prod-c", "prod-b", "prod-a"] and body["total"] == 3
    page = alice.get("/api/token/search?keyword=prod&p=1&size=2")
    assert names(page) == ["prod-a"] and page["total"] == 3
    assert names(alice.get("/api/token/search?keyword=100%25_")) == ["100%_x"]
    assert names(alice.get("/api/token/search?keyword=%25")) == []
    assert alice.get("/api/token/search?keyword=")["total"] == 5


# --- update ---------------------------------------------------------------------------------------


def test_update_changes_every_editable_field(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    token = create(alice, "old", remain_quota=1)
    body = alice.put(
        "/api/token/",
        json={
            "id": token["id"],
            "name": "new",
            "expired_time": 4102444800,
            "remain_quota": 77,
            "unlimited_quota": True,
            "models": "a, b",
            "subnet": "127.0.0.1/32",
            "status": 2,
            "key": "ignored",
            "used_quota": 12345,
        },
    )
    assert body["success"] is True, body
    updated = body["data"]
    assert updated["name"] == "new" and updated["expired_time"] == 4102444800
    assert updated["remain_quota"] == 77 and updated["unlimited_quota"] is True
    assert updated["models"] == "a,b" and updated["subnet"] == "127.0.0.1/32" and updated["status"] == 2
    assert updated["key"] == token["key"] and updated["used_quota"] == 0
    assert updated["updated_at"] >= token["updated_at"]
    assert alice.get(f"/api/token/{token['id']}")["data"] == updated


def test_update_leaves_fields_it_is_not_given(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    token = create(alice, "keep", remain_quota=9, models="m1", subnet="10.0.0.0/8")
    updated = alice.put("/api/token/", json={"id": token["id"], "name": "renamed"})["data"]
    assert updated["name"] == "renamed"
    assert (updated["remain_quota"], updated["models"], updated["subnet"], updated["status"]) == (
        9,
        "m1",
        "10.0.0.0/8",
        1,
    )


def test_update_validation_messages(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    token = create(alice)
    assert alice.put("/api/token/", json={"name": "x"}) == {
        "success": False,
        "message": "token id is required",
    }
    blank = alice.put("/api/token/", json={"id": token["id"], "name": " "})
    assert blank == {"success": False, "message": "Token name cannot be empty"}
    long = alice.put("/api/token/", json={"id": token["id"], "name": "y" * 31})
    assert long == {"success": False, "message": "invalid token: Token name is too long"}
    subnet = alice.put("/api/token/", json={"id": token["id"], "subnet": "bad"})
    assert subnet == {"success": False, "message": "invalid token: invalid network segment: bad"}
    assert alice.http.put("/api/token/", content=b"").json() == {
        "success": False,
        "message": "unexpected EOF",
    }


def test_status_only_changes_nothing_but_status(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    token = create(alice, "steady", remain_quota=3)
    body = alice.put(
        "/api/token/?status_only=1",
        json={"id": token["id"], "status": 2, "name": "", "remain_quota": 999},
    )
    assert body["success"] is True, body
    assert body["data"]["status"] == 2 and body["data"]["name"] == "steady"
    assert body["data"]["remain_quota"] == 3
    again = alice.put("/api/token/?status_only=1", json={"id": token["id"], "status": 1})
    assert again["data"]["status"] == 1


def test_expired_token_cannot_be_enabled_without_a_new_expiry(
    make_user: Callable[..., Api], db: sa.Engine
) -> None:
    alice = make_user("alice")
    token = create(alice, "old", remain_quota=10)
    past = int(time.time()) - 3600
    set_row(db, token["id"], status=3, expired_time=past)
    refused = {"success": False, "message": EXPIRED_MESSAGE}
    assert alice.put("/api/token/?status_only=1", json={"id": token["id"], "status": 1}) == refused
    assert alice.put("/api/token/", json={"id": token["id"], "status": 1, "expired_time": past}) == refused
    row = stored(db, token["id"])
    assert row is not None and row["status"] == 3
    future = int(time.time()) + 3600
    fixed = alice.put("/api/token/", json={"id": token["id"], "status": 1, "expired_time": future})
    assert fixed["data"]["status"] == 1 and fixed["data"]["expired_time"] == future
    set_row(db, token["id"], status=3, expired_time=past)
    never = alice.put("/api/token/", json={"id": token["id"], "status": 1, "expired_time": -1})
    assert never["data"]["status"] == 1


def test_enabled_token_past_its_expiry_cannot_be_re_enabled(
    make_user: Callable[..., Api], db: sa.Engine
) -> None:
    alice = make_user("alice")
    token = create(alice, "lapsed", remain_quota=10)
    set_row(db, token["id"], expired_time=int(time.time()) - 60)
    body = alice.put("/api/token/", json={"id": token["id"], "name": "lapsed", "status": 1})
    assert body == {"success": False, "message": EXPIRED_MESSAGE}


def test_exhausted_token_needs_quota_or_unlimited_to_be_enabled(
    make_user: Callable[..., Api], db: sa.Engine
) -> None:
    alice = make_user("alice")
    token = create(alice, "spent")
    set_row(db, token["id"], status=4, remain_quota=0)
    refused = {"success": False, "message": EXHAUSTED_MESSAGE}
    assert alice.put("/api/token/?status_only=1", json={"id": token["id"], "status": 1}) == refused
    assert alice.put("/api/token/", json={"id": token["id"], "status": 1, "remain_quota": 0}) == refused
    topped = alice.put("/api/token/", json={"id": token["id"], "status": 1, "remain_quota": 100})
    assert topped["data"]["status"] == 1 and topped["data"]["remain_quota"] == 100
    set_row(db, token["id"], status=4, remain_quota=0)
    unlimited = alice.put("/api/token/", json={"id": token["id"], "status": 1, "unlimited_quota": True})
    assert unlimited["data"]["status"] == 1


def test_exhausted_or_expired_status_that_no_longer_holds_becomes_enabled(
    make_user: Callable[..., Api],
) -> None:
    alice = make_user("alice")
    token = create(alice, "fine", remain_quota=50)
    as_exhausted = alice.put("/api/token/", json={"id": token["id"], "status": 4})
    assert as_exhausted["data"]["status"] == 1
    as_expired = alice.put("/api/token/", json={"id": token["id"], "status": 3, "expired_time": -1})
    assert as_expired["data"]["status"] == 1
    empty = create(alice, "empty", remain_quota=0)
    really = alice.put("/api/token/", json={"id": empty["id"], "status": 4})
    assert really["data"]["status"] == 4


def test_unknown_status_value_is_refused(make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    token = create(alice)
    body = alice.put("/api/token/?status_only=1", json={"id": token["id"], "status": 9})
    assert body == {"success": False, "message": "invalid token status: 9"}


# --- delete ---------------------------------------------------------------------------------------


def test_delete_removes_own_token(make_user: Callable[..., Api], db: sa.Engine) -> None:
    alice = make_user("alice")
    keep, gone = create(alice, "keep"), create(alice, "gone")
    assert alice.delete(f"/api/token/{gone['id']}") == {"success": True, "message": ""}
    assert stored(db, gone["id"]) is None and stored(db, keep["id"]) is not None
    assert names(alice.get("/api/token/")) == ["keep"]
    assert alice.get(f"/api/token/{gone['id']}")["success"] is False
