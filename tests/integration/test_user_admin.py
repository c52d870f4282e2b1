"""Administrators' user routes: who may call them, list, search, view and create (SPEC §1.3, §3.3)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.rows import insert_user, quoted
from tests.support.server import LiveServer
from tests.support.users import no_secrets, store_option, user_row

INVALID = "invalid parameter"
INVALID_INPUT = "Invalid input, please check your input"
INSUFFICIENT = "No permission to perform this operation, insufficient permissions"
SAME_LEVEL_GET = "No permission to get information of users at the same level or higher"
CREATE_TOO_HIGH = "Unable to create users with permissions greater than or equal to your own"


def _fail(message: str) -> dict[str, Any]:
    return {"success": False, "message": message}


def _ids(body: dict[str, Any]) -> list[int]:
    return [user["id"] for user in body["data"]]


@pytest.fixture
def admin(make_user: Callable[..., Api]) -> Api:
    return make_user("admin1", role=10)


# ---- who may call ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/user/", None),
        ("GET", "/api/user/search?keyword=a", None),
        ("GET", "/api/user/1", None),
        ("POST", "/api/user/", {"username": "x1", "password": "password123"}),
        ("PUT", "/api/user/", {"id": 1, "display_name": "x"}),
        ("DELETE", "/api/user/1", None),
        ("POST", "/api/user/manage", {"username": "root", "action": "disable"}),
    ],
)
def test_common_user_gets_403_on_admin_routes(
    make_user: Callable[..., Api], method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = make_user("plain").http.request(method, path, json=body)
    assert response.status_code == 403
    assert response.json() == _fail(INSUFFICIENT)


# ---- list and search ------------------------------------------------------------------------


def test_list_excludes_deleted_users_and_counts_total(admin: Api, db: sa.Engine) -> None:
    for name in ("ann", "ben", "cat"):
        insert_user(db, name, "password123")
    assert admin.post("/api/user/manage", json={"username": "ben", "action": "delete"})["success"]
    response = admin.http.get("/api/user/")
    body = no_secrets(response, db)
    names = [u["username"] for u in body["data"]]
    assert names == ["cat", "ann", "admin1", "root"]
    assert body["total"] == 4


def test_list_pages_with_p_and_size(admin: Api, db: sa.Engine) -> None:
    for name in ("u1", "u2", "u3", "u4"):
        insert_user(db, name, "password123")
    pages = [admin.get(f"/api/user/?p={p}&size=2") for p in range(4)]
    assert [[u["username"] for u in page["data"]] for page in pages] == [
        ["u4", "u3"],
        ["u2", "u1"],
        ["admin1", "root"],
        [],
    ]
    assert all(page["total"] == 6 for page in pages)
    assert _ids(admin.get("/api/user/?p=-3&size=2")) == _ids(pages[0])
    assert len(admin.get("/api/user/")["data"]) == 6


def test_page_size_is_capped_by_max_items_per_page(
    make_server: Callable[..., LiveServer], db: sa.Engine
) -> None:
    server = make_server(MAX_ITEMS_PER_PAGE="3")
    for name in ("u1", "u2", "u3", "u4"):
        insert_user(db, name, "password123")
    root = Api(server.url)
    root.login("root", "123456")
    body = root.get("/api/user/?size=50")
    assert len(body["data"]) == 3 and body["total"] == 5
    assert len(root.get("/api/user/")["data"]) == 3


def test_list_sorting_whitelist_and_legacy_order(admin: Api, db: sa.Engine) -> None:
    insert_user(db, "zed", "password123", quota=5)
    insert_user(db, "amy", "password123", quota=50)
    insert_user(db, "max", "password123", quota=500)

    def names(query: str) -> list[str]:
        return [u["username"] for u in admin.get(f"/api/user/?{query}")["data"]]

    assert names("sort=username&order=asc") == ["admin1", "amy", "max", "root", "zed"]
    assert names("sort=username&order=desc") == ["zed", "root", "max", "amy", "admin1"]
    assert names("sort=quota&order=asc")[-2:] == ["max", "root"]
    assert names("order=quota")[:2] == ["root", "max"]
    assert names("sort=password&order=asc") == ["max", "amy", "zed", "admin1", "root"]


def test_search_by_prefix_or_id_without_total(admin: Api, db: sa.Engine) -> None:
    tom = insert_user(db, "tommy", "password123")
    insert_user(db, "atom", "password123")
    insert_user(db, "t_x", "password123")
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET email = 'tz@example.com' WHERE username = 'atom'"))
        conn.execute(sa.text("UPDATE users SET display_name = 'tiger' WHERE username = 'root'"))
    response = admin.http.get("/api/user/search?keyword=t")
    body = no_secrets(response, db)
    assert "total" not in body
    assert sorted(u["username"] for u in body["data"]) == ["atom", "root", "t_x", "tommy"]
    assert [u["username"] for u in admin.get("/api/user/search?keyword=tz@")["data"]] == ["atom"]
    assert [u["username"] for u in admin.get(f"/api/user/search?keyword={tom}")["data"]] == ["tommy"]
    assert [u["username"] for u in admin.get("/api/user/search?keyword=t_")["data"]] == ["t_x"]
    assert admin.get("/api/user/search?keyword=om")["data"] == []
    assert admin.get("/api/user/search?keyword=99999999999999999999999")["data"] == []


# ---- view -----------------------------------------------------------------------------------


def test_admin_views_lower_users_only(admin: Api, root: Api, db: sa.Engine) -> None:
    common = insert_user(db, "common1", "password123", quota=77)
    other_admin = insert_user(db, "admin2", "password123", role=10)
    root_id = user_row(db, "root")["id"]
    data = no_secrets(admin.http.get(f"/api/user/{common}"), db)["data"]
    assert data["username"] == "common1" and data["quota"] == 77
    assert admin.get(f"/api/user/{other_admin}") == _fail(SAME_LEVEL_GET)
    assert admin.get(f"/api/user/{root_id}") == _fail(SAME_LEVEL_GET)
    assert root.get(f"/api/user/{other_admin}")["data"]["username"] == "admin2"
    assert root.get(f"/api/user/{root_id}")["data"]["username"] == "root"
    assert root.get("/api/user/424242") == _fail("User does not exist")
    assert root.get("/api/user/99999999999999999999999") == _fail("User does not exist")


# ---- create ---------------------------------------------------------------------------------


def test_admin_creates_user_with_default_token(
    make_server: Callable[..., LiveServer], make_user: Callable[..., Api], db: sa.Engine
) -> None:
    make_user("admin1", role=10)
    store_option(db, "QuotaForNewUser", "4321")
    server = make_server()
    admin = Api(server.url)
    admin.login("admin1", "password123")
    response = admin.http.post("/api/user/", json={"username": "newbie", "password": "password123"})
    data = no_secrets(response, db)["data"]
    row = user_row(db, "newbie")
    assert data["id"] == row["id"] and data["display_name"] == "newbie"
    assert (row["role"], row["status"], row["quota"], row["group"]) == (1, 1, 4321, "default")
    assert re.fullmatch(r"[0-9a-f]{32}", row["access_token"])
    assert re.fullmatch(r"[A-Za-z0-9]{4}", row["aff_code"])
    assert row["password"].startswith("$2") and row["created_at"] > 1_600_000_000_000
    k = quoted(db, "key")
    with db.connect() as conn:
        tokens = conn.execute(
            sa.text(
                f"SELECT name, {k}, expired_time, remain_quota, unlimited_quota, status "
                "FROM tokens WHERE user_id = :u"
            ),
            {"u": row["id"]},
        ).all()
    assert len(tokens) == 1
    name, key, expired, remain, unlimited, status = tokens[0]
    assert (name, expired, remain, bool(unlimited), status) == ("default", -1, -1, True, 1)
    assert len(key) == 48
    assert Api(server.url).login("newbie", "password123")["success"]


def test_create_takes_quota_group_display_name_from_the_body(admin: Api, db: sa.Engine) -> None:
    body = {"username": "vip1", "password": "password123", "display_name": "V", "quota": 99, "group": "vip"}
    assert admin.post("/api/user/", json=body)["success"]
    row = user_row(db, "vip1")
    assert (row["display_name"], row["quota"], row["group"]) == ("V", 99, "vip")


def test_create_role_must_be_below_the_creator(admin: Api, root: Api, db: sa.Engine) -> None:
    user = {"username": "boss", "password": "password123"}
    assert admin.post("/api/user/", json={**user, "role": 10}) == _fail(CREATE_TOO_HIGH)
    assert root.post("/api/user/", json={**user, "role": 100}) == _fail(CREATE_TOO_HIGH)
    assert admin.post("/api/user/", json={**user, "role": 1})["success"]
    assert root.post("/api/user/", json={"username": "boss2", "password": "password123", "role": 10})[
        "success"
    ]
    assert user_row(db, "boss")["role"] == 1 and user_row(db, "boss2")["role"] == 10


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"username": "u" * 31, "password": "password123"}, INVALID_INPUT),
        ({"username": "shorty", "password": "pass"}, INVALID_INPUT),
        ({"username": "longpw", "password": "p" * 21}, INVALID_INPUT),
        ({"username": "dn", "password": "password123", "display_name": "d" * 21}, INVALID_INPUT),
        ({"username": "neg", "password": "password123", "quota": -1}, INVALID_INPUT),
        ({"username": "odd", "password": "password123", "role": 5}, INVALID_INPUT),
        ({"username": "   ", "password": "password123"}, "Username cannot be empty"),
        ({"username": "nopw"}, INVALID),
        ({"password": "password123"}, INVALID),
        ({"username": "q", "password": "password123", "quota": "abc"}, INVALID),
        ({"username": "q", "password": "password123", "quota": 2**64}, INVALID),
        ({"username": "q", "password": "password123", "role": True}, INVALID),
    ],
)
def test_create_validation(admin: Api, db: sa.Engine, body: dict[str, Any], message: str) -> None:
    response = admin.http.post("/api/user/", json=body)
    assert response.status_code == 200 and response.json() == _fail(message)
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM users")).scalar_one() == 2


def test_create_malformed_json_and_duplicate(admin: Api) -> None:
    response = admin.http.post("/api/user/", content=b'{"username": "x",')
    assert response.status_code == 200 and response.json() == _fail(INVALID)
    user = {"username": "twin", "password": "password123"}
    assert admin.post("/api/user/", json=user)["success"]
    assert admin.post("/api/user/", json=user) == _fail("Username already exists")
