"""Management auth (SPEC §3.2) and password login (§3.4), over real HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.server import LiveServer
from tests.support.users import no_secrets, store_option, user_row

NOT_LOGGED_IN = "No permission to perform this operation, not logged in and no access token provided"
BAD_TOKEN = "No permission to perform this operation, access token is invalid"
BANNED = "User has been banned"
INSUFFICIENT = "No permission to perform this operation, insufficient permissions"
WRONG_LOGIN = "Username or password is wrong, or user has been banned"


def _with_token(server: LiveServer, authorization: str) -> Api:
    return Api(server.url, headers={"Authorization": authorization})


def test_no_cookie_and_no_token_is_401(anon: Api) -> None:
    response = anon.http.get("/api/user/self")
    assert response.status_code == 401
    assert response.json() == {"success": False, "message": NOT_LOGGED_IN}


def test_unknown_access_token_is_401(server: LiveServer) -> None:
    response = _with_token(server, "Bearer 0123456789abcdef0123456789abcdef").http.get("/api/user/self")
    assert response.status_code == 401
    assert response.json() == {"success": False, "message": BAD_TOKEN}


def test_access_token_with_or_without_one_bearer_prefix(
    server: LiveServer, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    make_user("alice")
    token = user_row(db, "alice")["access_token"]
    for header in (token, f"Bearer {token}"):
        body = _with_token(server, header).get("/api/user/self")
        assert body["success"] is True and body["data"]["username"] == "alice"
    for header in (f"Bearer Bearer {token}", f"bearer {token}", f"Bearer  {token}"):
        response = _with_token(server, header).http.get("/api/user/self")
        assert response.status_code == 401, header
        assert response.json()["message"] == BAD_TOKEN


def test_disabled_user_is_403_banned_by_token(
    server: LiveServer, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    make_user("carol", status=2)
    token = user_row(db, "carol")["access_token"]
    response = _with_token(server, token).http.get("/api/user/self")
    assert response.status_code == 403
    assert response.json() == {"success": False, "message": BANNED}


def test_disabling_a_user_ends_session_and_token_at_once(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    dave = make_user("dave")
    by_token = _with_token(server, user_row(db, "dave")["access_token"])
    assert dave.get("/api/user/self")["success"] and by_token.get("/api/user/self")["success"]
    assert root.post("/api/user/manage", json={"username": "dave", "action": "disable"})["success"]
    for client in (dave, by_token):
        response = client.http.get("/api/user/self")
        assert response.status_code == 403
        assert response.json()["message"] == BANNED
    assert root.post("/api/user/manage", json={"username": "dave", "action": "enable"})["success"]
    assert dave.get("/api/user/self")["success"] and by_token.get("/api/user/self")["success"]


def test_common_user_gets_403_on_admin_route(make_user: Callable[..., Api]) -> None:
    response = make_user("erin").http.get("/api/user/")
    assert response.status_code == 403
    assert response.json() == {"success": False, "message": INSUFFICIENT}


def test_login_cookie_is_httponly_and_not_secure_by_default_here(anon: Api) -> None:
    response = anon.http.post("/api/user/login", json={"username": "root", "password": "123456"})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie and "Secure" not in cookie


def test_login_cookie_is_secure_when_enable_cookie_secure(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(ENABLE_COOKIE_SECURE="true")
    response = Api(server.url).http.post("/api/user/login", json={"username": "root", "password": "123456"})
    cookie = response.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    # A client replaying the cookie over plain HTTP is still recognised.
    session = response.cookies["session"]
    replay = Api(server.url, headers={"Cookie": f"session={session}"})
    assert replay.get("/api/user/self")["data"]["username"] == "root"


def test_logout_clears_the_session(root: Api) -> None:
    response = root.http.get("/api/user/logout")
    assert response.json() == {"success": True, "message": ""}
    cookie = response.headers["set-cookie"]
    assert cookie.startswith('session=""') or cookie.startswith("session=;")
    assert "Max-Age=0" in cookie
    assert root.http.get("/api/user/self").status_code == 401


def test_tampered_session_cookie_is_refused(root: Api, server: LiveServer) -> None:
    session = root.http.cookies["session"]
    forged = session[:-2] + ("AA" if not session.endswith("AA") else "BB")
    response = Api(server.url, headers={"Cookie": f"session={forged}"}).http.get("/api/user/self")
    assert response.status_code == 401
    assert response.json()["message"] == NOT_LOGGED_IN


def test_cookie_signed_with_another_secret_is_refused(
    make_server: Callable[..., LiveServer], server: LiveServer
) -> None:
    other = make_server(SESSION_SECRET="another-secret-0123456789")
    api = Api(other.url)
    api.login("root", "123456")
    stolen = api.http.cookies["session"]
    response = Api(server.url, headers={"Cookie": f"session={stolen}"}).http.get("/api/user/self")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b'{"username": "root"}',
        b'{"username": "", "password": "123456"}',
        b'{"username": 1, "password": "123456"}',
        b'["root", "123456"]',
    ],
)
def test_login_bad_body_is_invalid_parameter(anon: Api, body: bytes) -> None:
    response = anon.http.post("/api/user/login", content=body)
    assert response.status_code == 200
    assert response.json() == {"success": False, "message": "invalid parameter"}


def test_login_refusals_share_one_message(anon: Api, make_user: Callable[..., Api]) -> None:
    make_user("frank")
    make_user("grace", status=2)
    for username, password in (
        ("frank", "wrong-password"),
        ("nobody", "password123"),
        ("grace", "password123"),
    ):
        body = anon.post("/api/user/login", json={"username": username, "password": password})
        assert body == {"success": False, "message": WRONG_LOGIN}
        assert "session" not in anon.http.cookies


def test_login_by_email(anon: Api, make_user: Callable[..., Api], db: sa.Engine) -> None:
    make_user("heidi")
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET email = 'heidi@example.com' WHERE username = 'heidi'"))
    body = anon.post("/api/user/login", json={"username": "heidi@example.com", "password": "password123"})
    assert body["success"] is True and body["data"]["username"] == "heidi"
    assert anon.get("/api/user/self")["data"]["email"] == "heidi@example.com"


def test_login_answers_only_who_the_user_is(anon: Api, db: sa.Engine) -> None:
    response = anon.http.post("/api/user/login", json={"username": "root", "password": "123456"})
    data = no_secrets(response, db)["data"]
    assert data["username"] == "root" and data["display_name"] == "Root User"
    assert data["role"] == 100 and data["status"] == 1 and data["id"] == user_row(db, "root")["id"]
    assert data["quota"] == 0 and data["aff_code"] == "" and data["email"] == ""


def test_password_login_disabled_refuses_all_but_root(
    make_server: Callable[..., LiveServer], make_user: Callable[..., Api], db: sa.Engine
) -> None:
    make_user("ivan", role=10)
    store_option(db, "PasswordLoginEnabled", "false")
    server = make_server()
    api = Api(server.url)
    body = api.post("/api/user/login", json={"username": "ivan", "password": "password123"})
    assert body["success"] is False and "disabled password login" in body["message"]
    assert "session" not in api.http.cookies
    assert api.post("/api/user/login", json={"username": "root", "password": "123456"})["success"]
