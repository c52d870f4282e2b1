"""TOTP two-factor over real HTTP (SPEC §1.3, §3.4): setup, confirm, login with a code, disable,
admin reset, the one-attempt-per-second limit and replay refusal, in memory and in Redis.

Codes are computed with our RFC 6238 implementation, itself checked against the RFC's vectors.
Each code is computed just before its request, from the current time step plus an offset
(−1, 0, +1 are all accepted), so successive codes of one user use increasing steps.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import pytest
import redis
import sqlalchemy as sa

from oneapi.services import totp
from tests.support.client import Api
from tests.support.server import LiveServer
from tests.support.users import no_secrets, user_row

INVALID_CODE = "Invalid TOTP code"
THROTTLED = "Too many TOTP verification attempts. Please wait before trying again."
SAME_LEVEL = "No permission to modify user with the same or higher permission level"
NOT_ENABLED = "TOTP is not enabled for this user"
TOTP_REQUIRED = {"success": False, "message": "totp_required", "data": {"totp_required": True}}
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of ASCII "12345678901234567890"
PAUSE = 1.05  # code attempts are limited to one per second per user


def code(secret: str, offset: int = 0) -> str:
    """The code of the current step + `offset`, computed away from a step boundary."""
    if totp.STEP_SECONDS - time.time() % totp.STEP_SECONDS < 0.5:
        time.sleep(0.6)
    return totp.hotp(totp.secret_key(secret), totp.step_at(time.time()) + offset)


def wrong_code(secret: str) -> str:
    """A well-formed code that no accepted step of `secret` has now."""
    valid = {code(secret, offset) for offset in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def enable_by_sql(db: sa.Engine, username: str) -> str:
    """Give a user TOTP as One API would have stored it; returns the secret."""
    secret = totp.new_secret()
    with db.begin() as conn:
        conn.execute(
            sa.text("UPDATE users SET totp_secret = :s WHERE username = :u"), {"s": secret, "u": username}
        )
    return secret


def login(api: Api, username: str, **extra: Any) -> Any:
    return api.post("/api/user/login", json={"username": username, "password": "password123", **extra})


# ---- the algorithm --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unix_time", "eight_digits"),
    [(59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924"), (2000000000, "69279037")],
)
def test_codes_match_the_rfc_6238_sha1_test_vectors(unix_time: int, eight_digits: str) -> None:
    key = totp.secret_key(RFC_SECRET)
    assert key == b"12345678901234567890"
    assert totp.hotp(key, totp.step_at(unix_time), digits=8) == eight_digits
    assert totp.code_at(RFC_SECRET, unix_time) == eight_digits[-6:]


def test_a_code_is_accepted_one_step_early_or_late_and_not_two() -> None:
    now = 1234567890
    for offset, expected in ((-1, -1), (0, 0), (1, 1)):
        found = totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, now + offset * 30), now)
        assert found == totp.step_at(now) + expected
    assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, now + 60), now) is None
    assert totp.matching_step(RFC_SECRET, "12345", now) is None
    assert totp.matching_step("not base32!", "123456", now) is None


# ---- setup and confirm ----------------------------------------------------------------------


def test_setup_gives_a_pending_secret_that_a_valid_code_activates(
    make_user: Callable[..., Api], db: sa.Engine
) -> None:
    alice = make_user("alice")
    assert alice.get("/api/user/totp/status")["data"] == {"totp_enabled": False, "enabled": False}

    setup = alice.get("/api/user/totp/setup")
    assert setup["success"] is True
    secret, uri = setup["data"]["secret"], setup["data"]["qr_code"]
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc, unquote(parts.path)) == ("otpauth", "totp", "/One API:alice")
    query = parse_qs(parts.query)
    assert query["secret"] == [secret] and query["issuer"] == ["One API"]
    assert len(totp.secret_key(secret)) == 20
    assert not user_row(db, "alice")["totp_secret"]  # not active until confirmed
    assert alice.get("/api/user/totp/status")["data"]["enabled"] is False

    assert alice.post("/api/user/totp/confirm", json={"totp_code": wrong_code(secret)}) == {
        "success": False,
        "message": INVALID_CODE,
    }
    time.sleep(PAUSE)
    confirmed = alice.post("/api/user/totp/confirm", json={"totp_code": code(secret)})
    assert confirmed == {"success": True, "message": "TOTP has been successfully enabled"}
    assert user_row(db, "alice")["totp_secret"] == secret
    assert alice.get("/api/user/totp/status")["data"] == {"totp_enabled": True, "enabled": True}


def test_setup_uses_the_system_name_as_issuer(root: Api) -> None:
    assert root.put("/api/option/", json={"key": "SystemName", "value": "Acme Gateway"})["success"] is True
    uri = root.get("/api/user/totp/setup")["data"]["qr_code"]
    assert unquote(urlsplit(uri).path) == "/Acme Gateway:root"
    assert parse_qs(urlsplit(uri).query)["issuer"] == ["Acme Gateway"]


def test_confirm_needs_a_setup_and_refuses_when_already_enabled(
    make_user: Callable[..., Api], db: sa.Engine
) -> None:
    bob = make_user("bob")
    no_setup = bob.post("/api/user/totp/confirm", json={"totp_code": "123456"})
    assert no_setup == {"success": False, "message": "No TOTP setup session found. Please start setup again."}
    assert bob.post("/api/user/totp/confirm", json={}) == {
        "success": False,
        "message": "TOTP code is required",
    }
    assert bob.post("/api/user/totp/confirm", json={"totp_code": 123456})["message"] == "invalid parameter"
    enable_by_sql(db, "bob")
    assert bob.get("/api/user/totp/setup") == {
        "success": False,
        "message": "TOTP is already enabled for this user",
    }


def test_the_secret_never_appears_in_a_user_dto(
    make_user: Callable[..., Api], root: Api, db: sa.Engine
) -> None:
    carol = make_user("carol")
    enable_by_sql(db, "carol")
    carol_id = user_row(db, "carol")["id"]
    for api, path in (
        (carol, "/api/user/self"),
        (carol, "/api/user/totp/status"),
        (root, f"/api/user/{carol_id}"),
        (root, "/api/user/"),
        (root, "/api/user/search?keyword=carol"),
    ):
        assert no_secrets(api.http.get(path), db)["success"] is True


# ---- login ----------------------------------------------------------------------------------


def test_login_with_totp_needs_a_valid_code(make_user: Callable[..., Api], anon: Api, db: sa.Engine) -> None:
    make_user("dave")
    secret = enable_by_sql(db, "dave")
    assert login(anon, "dave") == TOTP_REQUIRED
    assert anon.get("/api/user/self")["success"] is False

    assert login(anon, "dave", totp_code=wrong_code(secret)) == {
        "success": False,
        "message": INVALID_CODE,
    }
    time.sleep(PAUSE)
    response = anon.http.post(
        "/api/user/login", json={"username": "dave", "password": "password123", "totp_code": code(secret)}
    )
    assert no_secrets(response, db)["data"]["username"] == "dave"
    assert anon.get("/api/user/self")["data"]["username"] == "dave"


def test_wrong_password_is_refused_before_any_totp_step(
    make_user: Callable[..., Api], anon: Api, db: sa.Engine
) -> None:
    make_user("erin")
    enable_by_sql(db, "erin")
    wrong = anon.post("/api/user/login", json={"username": "erin", "password": "wrong-password"})
    assert wrong == {"success": False, "message": "Username or password is wrong, or user has been banned"}
    assert login(anon, "erin", totp_code=7) == {"success": False, "message": "invalid parameter"}


def test_code_attempts_are_limited_to_one_per_second_per_user(
    make_user: Callable[..., Api], anon: Api, db: sa.Engine
) -> None:
    make_user("frank")
    make_user("grace")
    frank, grace = enable_by_sql(db, "frank"), enable_by_sql(db, "grace")
    assert login(anon, "frank", totp_code=wrong_code(frank))["message"] == INVALID_CODE
    second = anon.http.post(
        "/api/user/login", json={"username": "frank", "password": "password123", "totp_code": code(frank)}
    )
    assert second.status_code == 429
    assert second.json() == {"success": False, "message": THROTTLED}
    assert login(anon, "grace", totp_code=code(grace))["success"] is True  # another user: own budget
    time.sleep(PAUSE)
    assert login(anon, "frank", totp_code=code(frank))["success"] is True


def test_a_used_code_cannot_be_replayed(make_user: Callable[..., Api], anon: Api, db: sa.Engine) -> None:
    make_user("heidi")
    secret = enable_by_sql(db, "heidi")
    used = code(secret)
    assert login(anon, "heidi", totp_code=used)["success"] is True
    time.sleep(PAUSE)
    assert login(anon, "heidi", totp_code=used) == {"success": False, "message": INVALID_CODE}
    time.sleep(PAUSE)
    assert login(anon, "heidi", totp_code=code(secret, -1)) == {"success": False, "message": INVALID_CODE}
    time.sleep(PAUSE)
    assert login(anon, "heidi", totp_code=code(secret, 1))["success"] is True


# ---- disable and admin reset ----------------------------------------------------------------


def test_user_disables_totp_with_a_valid_code(
    make_user: Callable[..., Api], anon: Api, db: sa.Engine
) -> None:
    ivan = make_user("ivan")
    secret = enable_by_sql(db, "ivan")
    assert ivan.post("/api/user/totp/disable", json={}) == {"success": False, "message": INVALID_CODE}
    time.sleep(PAUSE)
    done = ivan.post("/api/user/totp/disable", json={"totp_code": code(secret)})
    assert done == {"success": True, "message": "TOTP has been successfully disabled"}
    assert not user_row(db, "ivan")["totp_secret"]
    assert login(anon, "ivan")["success"] is True
    time.sleep(PAUSE)
    assert ivan.post("/api/user/totp/disable", json={"totp_code": "123456"}) == {
        "success": False,
        "message": NOT_ENABLED,
    }


def test_admin_resets_totp_of_lower_roles_only(
    make_user: Callable[..., Api], root: Api, anon: Api, db: sa.Engine
) -> None:
    admin = make_user("admin1", role=10)
    plain = make_user("judy")
    make_user("admin2", role=10)
    for name in ("judy", "admin2", "root"):
        enable_by_sql(db, name)
    ids = {name: user_row(db, name)["id"] for name in ("judy", "admin2", "root", "admin1")}

    refused = plain.http.post(f"/api/user/totp/disable/{ids['judy']}")
    assert refused.status_code == 403
    for target in ("admin2", "root"):
        assert admin.post(f"/api/user/totp/disable/{ids[target]}") == {
            "success": False,
            "message": SAME_LEVEL,
        }
        assert user_row(db, target)["totp_secret"]
    assert admin.post(f"/api/user/totp/disable/{ids['admin1']}") == {"success": False, "message": SAME_LEVEL}
    assert admin.post("/api/user/totp/disable/99999") == {"success": False, "message": "User does not exist"}

    reset = admin.post(f"/api/user/totp/disable/{ids['judy']}")
    assert reset == {"success": True, "message": "TOTP has been successfully disabled for the user"}
    assert not user_row(db, "judy")["totp_secret"]
    assert login(anon, "judy")["success"] is True
    assert admin.post(f"/api/user/totp/disable/{ids['judy']}") == {"success": False, "message": NOT_ENABLED}
    with db.connect() as conn:
        content = conn.execute(
            sa.text("SELECT content FROM logs WHERE type = 3 AND user_id = :u"), {"u": ids["judy"]}
        ).scalar_one()
    assert f"admin_id={ids['admin1']}" in content

    assert root.post(f"/api/user/totp/disable/{ids['admin2']}")["success"] is True
    assert root.post(f"/api/user/totp/disable/{ids['root']}")["success"] is True


# ---- shared state in Redis ------------------------------------------------------------------


@pytest.fixture
def redis_url() -> Iterator[str]:
    """ONEAPI_TEST_REDIS_URL on database 14, emptied of TOTP keys; skip without it."""
    url = os.environ.get("ONEAPI_TEST_REDIS_URL", "")
    if not url:
        pytest.skip("Redis tests need ONEAPI_TEST_REDIS_URL, e.g. redis://127.0.0.1:6379/0")
    url = urlunsplit(urlsplit(url)._replace(path="/14"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def test_nodes_sharing_redis_share_pending_secrets_and_used_codes(
    make_server: Callable[..., LiveServer], redis_url: str, db: sa.Engine
) -> None:
    node_a = Api(make_server(REDIS_CONN_STRING=redis_url).url)
    node_b = Api(make_server(REDIS_CONN_STRING=redis_url).url)
    node_a.login("root", "123456")
    node_b.login("root", "123456")
    secret = node_a.get("/api/user/totp/setup")["data"]["secret"]
    assert node_b.post("/api/user/totp/confirm", json={"totp_code": code(secret, -1)})["success"] is True
    assert user_row(db, "root")["totp_secret"] == secret

    time.sleep(PAUSE)
    fresh = code(secret)
    assert login(node_a, "root", password="123456", totp_code=fresh)["success"] is True
    at_once = node_b.http.post(
        "/api/user/login", json={"username": "root", "password": "123456", "totp_code": code(secret, 1)}
    )
    assert at_once.status_code == 429  # one attempt per second per user, counted across nodes
    time.sleep(PAUSE)
    assert login(node_b, "root", password="123456", totp_code=fresh) == {
        "success": False,
        "message": INVALID_CODE,
    }
    time.sleep(PAUSE)
    assert login(node_b, "root", password="123456", totp_code=code(secret, 1))["success"] is True
    node_a.close()
    node_b.close()
