"""A user's own account: view, partial update, self-delete, access-token rotation, aff code."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.server import LiveServer
from tests.support.users import no_secrets, user_by_id, user_row

INVALID = "invalid parameter"


def test_get_self_shows_the_account_without_secrets(make_user: Callable[..., Api], db: sa.Engine) -> None:
    alice = make_user("alice", quota=1234, group="vip")
    data = no_secrets(alice.http.get("/api/user/self"), db)["data"]
    row = user_row(db, "alice")
    assert data["id"] == row["id"] and data["username"] == "alice"
    assert data["quota"] == 1234 and data["group"] == "vip" and data["role"] == 1 and data["status"] == 1


def test_update_self_changes_only_the_given_fields(make_user: Callable[..., Api], db: sa.Engine) -> None:
    bob = make_user("bob")
    before = user_row(db, "bob")
    response = bob.http.put("/api/user/self", json={"display_name": "Bobby"})
    assert no_secrets(response, db) == {"success": True, "message": ""}
    after = user_row(db, "bob")
    assert after["display_name"] == "Bobby"
    assert after["username"] == "bob" and after["password"] == before["password"]


def test_update_self_password_is_rehashed_and_used_at_login(
    server: LiveServer, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    carol = make_user("carol")
    assert carol.put("/api/user/self", json={"password": "new-password-1"})["success"]
    stored = user_row(db, "carol")["password"]
    assert stored.startswith("$2") and "new-password-1" not in stored
    fresh = Api(server.url)
    assert (
        fresh.post("/api/user/login", json={"username": "carol", "password": "password123"})["success"]
        is False
    )
    assert fresh.post("/api/user/login", json={"username": "carol", "password": "new-password-1"})["success"]


def test_update_self_username_then_login_with_it(
    server: LiveServer, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    dave = make_user("dave")
    assert dave.put("/api/user/self", json={"username": "david", "password": ""})["success"]
    assert Api(server.url).login("david", "password123")["data"]["username"] == "david"
    assert user_row(db, "david")["display_name"] == "dave"


def test_update_self_blank_display_name_clears_it(make_user: Callable[..., Api], db: sa.Engine) -> None:
    erin = make_user("erin")
    assert erin.put("/api/user/self", json={"display_name": ""})["success"]
    assert user_row(db, "erin")["display_name"] == ""


def test_update_self_taken_username(make_user: Callable[..., Api]) -> None:
    make_user("frank")
    grace = make_user("grace")
    assert grace.put("/api/user/self", json={"username": "frank"}) == {
        "success": False,
        "message": "Username already exists",
    }


@pytest.mark.parametrize(
    ("body", "field", "tag"),
    [
        ({"username": "u" * 31}, "Username", "max"),
        ({"password": "short"}, "Password", "min"),
        ({"password": "p" * 21}, "Password", "max"),
        ({"display_name": "d" * 21}, "DisplayName", "max"),
    ],
)
def test_update_self_validation_is_input_is_illegal(
    make_user: Callable[..., Api], db: sa.Engine, body: dict[str, str], field: str, tag: str
) -> None:
    heidi = make_user("heidi")
    answer = heidi.put("/api/user/self", json=body)
    assert answer == {
        "success": False,
        "message": f"Input is illegal Key: 'User.{field}' Error:Field validation for '{field}' "
        f"failed on the '{tag}' tag",
    }
    assert user_row(db, "heidi")["display_name"] == "heidi"


@pytest.mark.parametrize("raw", [b"{bad", b'{"username": 5}', b'{"password": ["x"]}', b"[]"])
def test_update_self_malformed_is_invalid_parameter(make_user: Callable[..., Api], raw: bytes) -> None:
    response = make_user("ivan").http.put("/api/user/self", content=raw)
    assert response.status_code == 200
    assert response.json() == {"success": False, "message": INVALID}


def test_delete_self_soft_deletes_and_ends_access(
    make_user: Callable[..., Api], root: Api, db: sa.Engine
) -> None:
    judy = make_user("judy")
    user_id = user_row(db, "judy")["id"]
    response = judy.http.delete("/api/user/self")
    assert no_secrets(response, db) == {"success": True, "message": ""}
    row = user_by_id(db, user_id)
    assert row["status"] == 3
    assert re.fullmatch(r"deleted_[0-9a-f]{32}", row["username"])
    assert judy.http.get("/api/user/self").status_code == 401
    assert all(u["id"] != user_id for u in root.get("/api/user/")["data"])


def test_root_cannot_delete_itself(root: Api, db: sa.Engine) -> None:
    assert root.delete("/api/user/self") == {
        "success": False,
        "message": "Cannot delete super administrator account",
    }
    assert user_row(db, "root")["status"] == 1


def test_access_token_rotation(server: LiveServer, make_user: Callable[..., Api], db: sa.Engine) -> None:
    kim = make_user("kim")
    old = user_row(db, "kim")["access_token"]
    body = kim.get("/api/user/token")
    new = body["data"]
    assert body["success"] is True and re.fullmatch(r"[0-9a-f]{32}", new) and new != old
    assert user_row(db, "kim")["access_token"] == new
    assert Api(server.url, headers={"Authorization": f"Bearer {new}"}).get("/api/user/self")["success"]
    stale = Api(server.url, headers={"Authorization": f"Bearer {old}"}).http.get("/api/user/self")
    assert stale.status_code == 401


def test_aff_code_is_kept_or_drawn_once(make_user: Callable[..., Api], db: sa.Engine) -> None:
    leo = make_user("leo")
    assert leo.get("/api/user/aff") == {
        "success": True,
        "message": "",
        "data": user_row(db, "leo")["aff_code"],
    }
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET aff_code = NULL WHERE username = 'leo'"))
    code = leo.get("/api/user/aff")["data"]
    assert re.fullmatch(r"[A-Za-z0-9]{4}", code)
    assert user_row(db, "leo")["aff_code"] == code
    assert leo.get("/api/user/aff")["data"] == code


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/user/self"),
        ("PUT", "/api/user/self"),
        ("DELETE", "/api/user/self"),
        ("GET", "/api/user/token"),
        ("GET", "/api/user/aff"),
    ],
)
def test_self_routes_need_login(anon: Api, method: str, path: str) -> None:
    response = anon.http.request(method, path, json={})
    assert response.status_code == 401
    assert response.json()["success"] is False
