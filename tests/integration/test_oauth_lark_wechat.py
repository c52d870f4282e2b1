"""Lark (Feishu) and WeChat sign-in against local fake providers: log in, provision, bind, refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_lark_wechat import BROKEN, TOKEN_PATH, FakeLark, FakeWeChatServer
from tests.support.server import LiveServer

BAD_STATE = {"success": False, "message": "state is empty or not same"}
INVALID = {"success": False, "message": "invalid parameter"}
LARK_OFF = {"success": False, "message": "The administrator has not enabled login and registration via Lark"}
WECHAT_OFF = {
    "success": False,
    "message": "The administrator has not enabled login and registration via WeChat",
}
PROVIDER_DOWN = {
    "success": False,
    "message": "Unable to connect to the identity provider, please try again later",
}
WECHAT_DOWN = {"success": False, "message": "Unable to connect to the WeChat server, please try again later"}
WECHAT_TOKEN = "wechat-server-token"


@pytest.fixture(scope="module")
def lark() -> Iterator[FakeLark]:
    fake: FakeLark = FakeLark().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def wechat_server() -> Iterator[FakeWeChatServer]:
    fake: FakeWeChatServer = FakeWeChatServer(WECHAT_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def server(make_server: Callable[..., LiveServer], lark: FakeLark) -> LiveServer:
    lark.received.clear()
    return make_server(CRITICAL_RATE_LIMIT="0", LARK_OAUTH_BASE_URL=lark.url)


def set_options(root: Api, **values: str) -> None:
    for key, value in values.items():
        answer = root.put("/api/option/", json={"key": key, "value": value})
        assert answer["success"], answer


@pytest.fixture
def lark_on(root: Api) -> None:
    set_options(
        root, LarkClientId="cli_lark", LarkClientSecret="lark-secret", ServerAddress="https://gw.example.com"
    )


@pytest.fixture
def wechat_on(root: Api, wechat_server: FakeWeChatServer) -> None:
    set_options(
        root, WeChatServerAddress=wechat_server.url, WeChatServerToken=WECHAT_TOKEN, WeChatAuthEnabled="true"
    )


def lark_sign_in(api: Api, code: str) -> dict[str, object]:
    state = api.get("/api/oauth/state")["data"]
    answer: dict[str, object] = api.get("/api/oauth/lark", params={"code": code, "state": state})
    return answer


def fresh(api: Api) -> Api:
    """A new client (no session) on the same server."""
    return Api(str(api.http.base_url))


def user_row(db: sa.Engine, **where: str) -> dict[str, object]:
    column, value = next(iter(where.items()))
    with db.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT * FROM users WHERE {column} = :v"), {"v": value}).mappings()
        found = [dict(r) for r in rows]
    assert len(found) == 1, found
    return found[0]


def test_lark_provisions_a_user_then_logs_the_same_user_in(
    anon: Api, lark: FakeLark, lark_on: None, db: sa.Engine
) -> None:
    lark.users["l1"] = {"open_id": "ou_alice", "name": "Alice Li", "email": "alice@corp.example"}
    answer = lark_sign_in(anon, "l1")
    assert answer["success"], answer
    assert answer["data"]["username"] == "alice"  # type: ignore[index]
    sent = [r for r in lark.received if r.path == TOKEN_PATH][-1]
    assert sent.headers["Content-Type"].startswith("application/json")
    assert sent.body == {
        "grant_type": "authorization_code",
        "client_id": "cli_lark",
        "client_secret": "lark-secret",
        "code": "l1",
        "redirect_uri": "https://gw.example.com/oauth/lark",
    }
    me = anon.get("/api/user/self")["data"]
    assert (me["username"], me["display_name"], me["lark_id"]) == ("alice", "Alice Li", "ou_alice")
    row = user_row(db, lark_id="ou_alice")
    assert row["email"] == "alice@corp.example" and row["role"] == 1
    again = fresh(anon)
    assert lark_sign_in(again, "l1")["success"]
    assert again.get("/api/user/self")["data"]["id"] == me["id"]
    user_row(db, lark_id="ou_alice")  # still exactly one
    lark.users["l2"] = {"open_id": "ou_noemail"}
    nameless = lark_sign_in(fresh(anon), "l2")["data"]
    assert nameless["username"].startswith("lark_") and nameless["display_name"] == "Lark User"  # type: ignore[index]


def test_lark_binds_to_the_logged_in_user_and_refuses_a_taken_account(
    anon: Api, lark: FakeLark, lark_on: None, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    lark.users["b1"] = {"open_id": "ou_bob", "name": "Bob"}
    bob = make_user("bob")
    assert lark_sign_in(bob, "b1") == {"success": True, "message": "", "data": "bind"}
    assert user_row(db, username="bob")["lark_id"] == "ou_bob"
    assert lark_sign_in(make_user("carol"), "b1") == {
        "success": False,
        "message": "This Lark account has already been bound",
    }
    assert lark_sign_in(anon, "b1")["data"]["username"] == "bob"  # type: ignore[index]


def test_lark_checks_state_code_configuration_and_provider_errors(
    root: Api, anon: Api, lark: FakeLark, db: sa.Engine
) -> None:
    lark.users["s1"] = {"open_id": "ou_state", "name": "S"}
    assert lark_sign_in(anon, "s1") == LARK_OFF
    set_options(root, LarkClientId="cli_lark", LarkClientSecret="lark-secret")
    assert fresh(anon).get("/api/oauth/lark", params={"code": "s1", "state": "x"}) == BAD_STATE
    anon.get("/api/oauth/state")
    wrong = anon.http.get("/api/oauth/lark", params={"code": "s1", "state": "not-the-state"})
    assert wrong.status_code == 403 and wrong.json() == BAD_STATE
    assert lark_sign_in(anon, "") == INVALID
    assert lark_sign_in(anon, "unknown") == PROVIDER_DOWN
    assert lark_sign_in(anon, BROKEN) == PROVIDER_DOWN
    lark.users["s2"] = {"name": "no open id"}
    assert lark_sign_in(anon, "s2") == {
        "success": False,
        "message": "The identity provider returned no user, please try again",
    }
    set_options(root, RegisterEnabled="false")
    assert lark_sign_in(anon, "s1") == {
        "success": False,
        "message": "The administrator has turned off new user registration",
    }
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM users WHERE lark_id IS NOT NULL")).scalar() == 0


def test_wechat_is_refused_while_switched_off(root: Api, anon: Api, make_user: Callable[..., Api]) -> None:
    assert anon.get("/api/oauth/wechat", params={"code": "w"}) == WECHAT_OFF
    assert make_user("dave").get("/api/oauth/wechat/bind", params={"code": "w"}) == WECHAT_OFF
    refused = root.put("/api/option/", json={"key": "WeChatAuthEnabled", "value": "true"})
    assert refused["success"] is False and "WeChat" in refused["message"]


def test_wechat_provisions_a_user_then_logs_the_same_user_in(
    anon: Api, wechat_server: FakeWeChatServer, wechat_on: None, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    wechat_server.users["123456"] = "wx-open-1"
    wechat_server.received.clear()
    answer = anon.get("/api/oauth/wechat", params={"code": "123456"})
    assert answer["success"], answer
    asked = wechat_server.received[-1]
    assert (asked.path, asked.query, asked.headers["Authorization"]) == (
        "/api/wechat/user",
        "code=123456",
        WECHAT_TOKEN,
    )
    me = anon.get("/api/user/self")["data"]
    assert me["username"].startswith("wechat_") and me["display_name"] == "WeChat User"
    assert me["wechat_id"] == "wx-open-1"
    other = make_user("erin")
    assert other.get("/api/oauth/wechat", params={"code": "123456"})["success"]
    assert other.get("/api/user/self")["data"]["id"] == me["id"]  # the code logs in, it does not bind
    assert user_row(db, wechat_id="wx-open-1")["id"] == me["id"]


def test_wechat_bind_needs_a_login_and_refuses_a_bound_account(
    anon: Api, wechat_server: FakeWeChatServer, wechat_on: None, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    wechat_server.users["222222"] = "wx-open-2"
    assert anon.http.get("/api/oauth/wechat/bind", params={"code": "222222"}).status_code == 401
    frank = make_user("frank")
    assert frank.get("/api/oauth/wechat/bind") == INVALID
    assert frank.get("/api/oauth/wechat/bind", params={"code": "222222"}) == {"success": True, "message": ""}
    assert user_row(db, username="frank")["wechat_id"] == "wx-open-2"
    assert make_user("gina").get("/api/oauth/wechat/bind", params={"code": "222222"}) == {
        "success": False,
        "message": "The WeChat account has been bound",
    }
    assert anon.get("/api/oauth/wechat", params={"code": "222222"})["data"]["username"] == "frank"


def test_wechat_server_errors_are_clear_answers(
    root: Api, anon: Api, wechat_server: FakeWeChatServer, wechat_on: None, db: sa.Engine
) -> None:
    assert anon.get("/api/oauth/wechat") == INVALID
    assert anon.get("/api/oauth/wechat", params={"code": "nope"}) == {
        "success": False,
        "message": "wrong code, or it has expired",
    }
    assert anon.get("/api/oauth/wechat", params={"code": BROKEN}) == WECHAT_DOWN
    set_options(root, WeChatServerToken="wrong-token")
    assert (
        anon.get("/api/oauth/wechat", params={"code": "nope"})["message"] == "no permission: token is invalid"
    )
    set_options(root, WeChatServerToken=WECHAT_TOKEN)
    wechat_server.users["333333"] = ""
    assert anon.get("/api/oauth/wechat", params={"code": "333333"}) == {
        "success": False,
        "message": "Verification code error or expired",
    }
    wechat_server.users["444444"] = "wx-banned"
    assert anon.get("/api/oauth/wechat", params={"code": "444444"})["success"]
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET status = 2 WHERE wechat_id = 'wx-banned'"))
    refused = fresh(anon).get("/api/oauth/wechat", params={"code": "444444"})
    assert refused == {"success": False, "message": "User has been banned"}
    set_options(root, WeChatServerAddress="http://127.0.0.1:9")
    assert anon.get("/api/oauth/wechat", params={"code": "444444"}) == WECHAT_DOWN
