"""Passkey (WebAuthn) sign-in over real HTTP (SPEC §1.3, the fork's routes): register a passkey
with a software authenticator, sign in with it, manage it; and every refusal a relying party owes
(wrong origin or challenge, replays, cloned counters, unknown, deleted or banned) with a clear
message. The authenticator is `soft-webauthn`; its raw output is sent as the browser's JSON.
"""

from __future__ import annotations

import base64
import os
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis
import sqlalchemy as sa
from fido2 import cbor
from fido2.cose import ES256
from soft_webauthn import SoftWebauthnDevice

from tests.support.client import Api
from tests.support.oneapi_schema import create_one_api_schema
from tests.support.rows import insert_user
from tests.support.server import LiveServer
from tests.support.users import user_row

ORIGIN = "http://localhost:3000"  # the default ServerAddress, so the default relying party
NO_LOGIN = "no login session found, please start again"
NO_REGISTRATION = "no registration session found, please start again"
NOT_LOGGED_IN = "No permission to perform this operation, not logged in and no access token provided"


def b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def for_device(data: dict[str, Any]) -> dict[str, Any]:
    """The server's JSON options as the browser API (and so the soft authenticator) takes them."""
    options = dict(data["publicKey"])
    options["challenge"] = unb64u(options["challenge"])
    if "user" in options:
        options["user"] = {**options["user"], "id": unb64u(options["user"]["id"])}
    return {"publicKey": options}


def attestation_json(made: dict[str, Any]) -> dict[str, Any]:
    """What @simplewebauthn/browser posts after navigator.credentials.create()."""
    response = made["response"]
    return {
        "id": b64u(made["rawId"]),
        "rawId": b64u(made["rawId"]),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64u(response["clientDataJSON"]),
            "attestationObject": b64u(response["attestationObject"]),
            "transports": ["internal", "hybrid"],
        },
        "clientExtensionResults": {},
        "authenticatorAttachment": "platform",
    }


def assertion_json(got: dict[str, Any]) -> dict[str, Any]:
    """What @simplewebauthn/browser posts after navigator.credentials.get()."""
    response = got["response"]
    return {
        "id": b64u(got["rawId"]),
        "rawId": b64u(got["rawId"]),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64u(response["clientDataJSON"]),
            "authenticatorData": b64u(response["authenticatorData"]),
            "signature": b64u(response["signature"]),
            "userHandle": b64u(response["userHandle"]),
        },
        "clientExtensionResults": {},
    }


def register(api: Api, device: SoftWebauthnDevice, name: str = "", origin: str = ORIGIN) -> Any:
    begun = api.post("/api/user/passkey/register/begin")
    assert begun["success"] is True, begun
    made = device.create(for_device(begun["data"]), origin)
    query = {"name": name} if name else {}
    return api.post("/api/user/passkey/register/finish", params=query, json=attestation_json(made))


def assertion(api: Api, device: SoftWebauthnDevice, origin: str = ORIGIN) -> dict[str, Any]:
    begun = api.post("/api/user/passkey/login/begin")
    assert begun["success"] is True, begun
    return assertion_json(device.get(for_device(begun["data"]), origin))


def passkey_login(api: Api, device: SoftWebauthnDevice, origin: str = ORIGIN) -> Any:
    return api.post("/api/user/passkey/login/finish", json=assertion(api, device, origin))


@pytest.fixture
def anon_client(server: LiveServer) -> Iterator[Callable[[], Api]]:
    made: list[Api] = []

    def new() -> Api:
        made.append(Api(server.url))
        return made[-1]

    yield new
    for api in made:
        api.close()


def user_id(db: sa.Engine, username: str) -> int:
    return int(user_row(db, username)["id"])


# ---- register, list, sign in ----------------------------------------------------------------


def test_register_then_sign_in_sets_the_session_like_password_login(
    make_user: Callable[..., Api], anon_client: Callable[[], Api], db: sa.Engine
) -> None:
    alice = make_user("alice")
    begun = alice.post("/api/user/passkey/register/begin")
    options = begun["data"]["publicKey"]
    assert options["rp"] == {"id": "localhost", "name": "One API"}
    # the fork's user handle: the user id as 8 big-endian bytes
    assert unb64u(options["user"]["id"]) == struct.pack(">Q", user_id(db, "alice"))
    assert options["user"]["name"] == "alice"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["excludeCredentials"] == []

    device = SoftWebauthnDevice()
    finished = register(alice, device, name="  My laptop  ")
    assert finished["success"] is True, finished
    assert finished["message"] == "Passkey registered successfully"
    assert finished["data"]["name"] == "My laptop"
    assert len(finished["data"]["uuid"]) == 36

    listed = alice.get("/api/user/passkey")["data"]
    assert [(p["credential_name"], p["sign_count"], p["uuid"]) for p in listed] == [
        ("My laptop", 0, finished["data"]["uuid"])
    ]
    assert listed[0]["created_at"] > 1_600_000_000_000  # milliseconds, as the fork writes them
    with db.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM passkey_credentials")).mappings().one()
    assert bytes(row["credential_id"]) == device.credential_id
    assert row["user_id"] == user_id(db, "alice")
    assert row["attestation_type"] == "none"
    assert row["transport"] == "internal,hybrid"
    assert bytes(row["aaguid"]) == b"\x00" * 16

    # a second registration excludes the credential already there
    again = alice.post("/api/user/passkey/register/begin")["data"]["publicKey"]
    assert [c["id"] for c in again["excludeCredentials"]] == [b64u(device.credential_id)]

    visitor = anon_client()
    logged_in = passkey_login(visitor, device)
    password_login = Api(visitor.http.base_url.__str__())
    try:
        expected = password_login.login("alice", "password123")
    finally:
        password_login.close()
    assert logged_in == expected
    me = visitor.get("/api/user/self")
    assert me["success"] is True and me["data"]["username"] == "alice"
    assert alice.get("/api/user/passkey")["data"][0]["sign_count"] == 1


def test_a_totp_user_signs_in_with_a_passkey_without_a_code(
    make_user: Callable[..., Api], anon_client: Callable[[], Api], db: sa.Engine
) -> None:
    bob = make_user("bob")
    device = SoftWebauthnDevice()
    assert register(bob, device)["success"] is True
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE username = 'bob'"))
    assert passkey_login(anon_client(), device)["success"] is True


def test_the_default_name_is_passkey_and_long_names_are_cut(make_user: Callable[..., Api]) -> None:
    carol = make_user("carol")
    assert register(carol, SoftWebauthnDevice())["data"]["name"] == "Passkey"
    assert register(carol, SoftWebauthnDevice(), name="x" * 200)["data"]["name"] == "x" * 128
    assert [p["credential_name"] for p in carol.get("/api/user/passkey")["data"]] == ["Passkey", "x" * 128]


def test_the_relying_party_follows_the_environment(
    make_server: Callable[..., LiveServer], db: sa.Engine
) -> None:
    server = make_server(
        WEBAUTHN_RP_ID="example.com", WEBAUTHN_RP_ORIGINS="https://a.example.com/, https://b.example.com"
    )
    insert_user(db, "dave", "password123")
    dave = Api(server.url)
    visitor = Api(server.url)
    try:
        dave.login("dave", "password123")
        device = SoftWebauthnDevice()
        assert register(dave, device, origin="http://localhost:3000")["success"] is False
        assert register(dave, device, origin="https://b.example.com")["success"] is True
        assert device.rp_id == "example.com"
        assert passkey_login(visitor, device, origin="https://a.example.com")["success"] is True
    finally:
        dave.close()
        visitor.close()


# ---- refusals -------------------------------------------------------------------------------


def test_wrong_origin_or_challenge_is_refused(
    make_user: Callable[..., Api], anon_client: Callable[[], Api]
) -> None:
    erin = make_user("erin")
    device = SoftWebauthnDevice()
    wrong = register(erin, device, origin="https://evil.example")
    assert wrong["success"] is False
    assert wrong["message"].startswith("registration failed:") and "origin" in wrong["message"]
    assert register(erin, device)["success"] is True

    visitor = anon_client()
    refused = passkey_login(visitor, device, origin="https://evil.example")
    assert refused["success"] is False and "origin" in refused["message"]

    begun = visitor.post("/api/user/passkey/login/begin")["data"]
    begun["publicKey"]["challenge"] = b64u(b"a challenge the server never issued")
    forged = assertion_json(device.get(for_device(begun), ORIGIN))
    refused = visitor.post("/api/user/passkey/login/finish", json=forged)
    assert refused["success"] is False and "challenge" in refused["message"]
    assert visitor.get("/api/user/self")["success"] is False


def test_an_assertion_is_accepted_once(
    make_user: Callable[..., Api], anon_client: Callable[[], Api], server: LiveServer
) -> None:
    frank = make_user("frank")
    device = SoftWebauthnDevice()
    assert register(frank, device)["success"] is True

    visitor = anon_client()
    signed = assertion(visitor, device)
    cookie = visitor.http.cookies["session"]
    assert visitor.post("/api/user/passkey/login/finish", json=signed)["success"] is True

    # the same request again, old cookie and all: the challenge was used up
    again = httpx.post(
        f"{server.url}/api/user/passkey/login/finish", json=signed, cookies={"session": cookie}
    ).json()
    assert again == {"success": False, "message": NO_LOGIN}
    # against a fresh challenge, the old assertion's signature does not fit
    other = anon_client()
    other.post("/api/user/passkey/login/begin")
    refused = other.post("/api/user/passkey/login/finish", json=signed)
    assert refused["success"] is False and "challenge" in refused["message"]


def test_a_cloned_authenticator_with_an_old_counter_is_refused(
    make_user: Callable[..., Api], anon_client: Callable[[], Api]
) -> None:
    grace = make_user("grace")
    device = SoftWebauthnDevice()
    assert register(grace, device)["success"] is True
    assert passkey_login(anon_client(), device)["success"] is True  # counter 1 stored
    device.sign_count = 0  # the clone's next assertion says 1 again
    refused = passkey_login(anon_client(), device)
    assert refused["success"] is False and "sign count" in refused["message"]


def test_unknown_deleted_and_banned_are_refused(
    make_user: Callable[..., Api], anon_client: Callable[[], Api], db: sa.Engine
) -> None:
    heidi = make_user("heidi")
    stranger = SoftWebauthnDevice()
    stranger.cred_init("localhost", struct.pack(">Q", user_id(db, "heidi")))
    refused = passkey_login(anon_client(), stranger)
    assert refused == {"success": False, "message": "login failed: unknown passkey"}

    kept, dropped = SoftWebauthnDevice(), SoftWebauthnDevice()
    assert register(heidi, kept)["success"] is True
    assert register(heidi, dropped)["success"] is True
    drop_id = heidi.get("/api/user/passkey")["data"][1]["id"]
    assert heidi.delete(f"/api/user/passkey/{drop_id}") == {
        "success": True,
        "message": "Passkey deleted successfully",
    }
    assert passkey_login(anon_client(), dropped)["message"] == "login failed: unknown passkey"
    assert passkey_login(anon_client(), kept)["success"] is True

    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET status = 2 WHERE username = 'heidi'"))
    banned = anon_client()
    refused = passkey_login(banned, kept)
    assert refused == {"success": False, "message": "login failed: user account is disabled"}
    assert banned.get("/api/user/self")["success"] is False


def test_a_user_handle_of_another_user_is_refused(
    make_user: Callable[..., Api], anon_client: Callable[[], Api], db: sa.Engine
) -> None:
    ivan = make_user("ivan")
    make_user("judy")
    device = SoftWebauthnDevice()
    assert register(ivan, device)["success"] is True
    device.user_handle = struct.pack(">Q", user_id(db, "judy"))
    assert passkey_login(anon_client(), device)["message"] == "login failed: unknown passkey"


class SameIdDevice(SoftWebauthnDevice):
    """An authenticator that presents a credential id already registered (with a new key)."""

    def __init__(self, credential_id: bytes) -> None:
        super().__init__()
        self.fixed_id = credential_id

    def cred_init(self, rp_id: str, user_handle: bytes) -> None:
        super().cred_init(rp_id, user_handle)
        self.credential_id = self.fixed_id


def test_a_credential_id_already_registered_is_refused(make_user: Callable[..., Api]) -> None:
    kim, lou = make_user("kim"), make_user("lou")
    device = SoftWebauthnDevice()
    assert register(kim, device)["success"] is True
    for api in (kim, lou):
        again = register(api, SameIdDevice(device.credential_id))
        assert again == {"success": False, "message": "this passkey is already registered"}
    assert len(kim.get("/api/user/passkey")["data"]) == 1
    assert lou.get("/api/user/passkey")["data"] == []


# ---- management -----------------------------------------------------------------------------


def test_rename_and_delete_only_the_callers_own_passkeys(
    make_user: Callable[..., Api], anon_client: Callable[[], Api]
) -> None:
    leo, mia = make_user("leo"), make_user("mia")
    device = SoftWebauthnDevice()
    assert register(leo, device)["success"] is True
    mine = leo.get("/api/user/passkey")["data"][0]

    for ref in (str(mine["id"]), mine["uuid"]):
        assert mia.put(f"/api/user/passkey/{ref}", json={"name": "stolen"}) == {
            "success": False,
            "message": "passkey not found",
        }
        assert mia.delete(f"/api/user/passkey/{ref}") == {"success": False, "message": "passkey not found"}
    assert leo.get("/api/user/passkey")["data"][0]["credential_name"] == "Passkey"

    assert leo.put(f"/api/user/passkey/{mine['uuid']}", json={"name": " Phone "}) == {
        "success": True,
        "message": "Passkey renamed successfully",
    }
    assert leo.get("/api/user/passkey")["data"][0]["credential_name"] == "Phone"
    assert mia.get("/api/user/passkey") == {"success": True, "message": "", "data": []}

    assert leo.delete(f"/api/user/passkey/{mine['uuid']}")["success"] is True
    assert leo.get("/api/user/passkey")["data"] == []
    assert leo.delete(f"/api/user/passkey/{mine['id']}") == {"success": False, "message": "passkey not found"}
    assert leo.delete("/api/user/passkey/99999999999999999999999") == {
        "success": False,
        "message": "passkey not found",
    }
    assert passkey_login(anon_client(), device)["success"] is False


def test_management_needs_a_login(anon: Api) -> None:
    for method, path in (
        ("GET", "/api/user/passkey"),
        ("POST", "/api/user/passkey/register/begin"),
        ("POST", "/api/user/passkey/register/finish"),
        ("PUT", "/api/user/passkey/1"),
        ("DELETE", "/api/user/passkey/1"),
    ):
        answer = anon.http.request(method, path, json={"name": "x"})
        assert answer.status_code == 401, (method, path)
        assert answer.json() == {"success": False, "message": NOT_LOGGED_IN}


def test_bad_bodies_get_clear_messages(
    make_user: Callable[..., Api], anon_client: Callable[[], Api], server: LiveServer
) -> None:
    nina = make_user("nina")
    shaped = {"id": "AA", "rawId": "AA", "type": "public-key", "response": {}}
    assert nina.post("/api/user/passkey/register/finish", json=shaped) == {
        "success": False,
        "message": NO_REGISTRATION,
    }
    visitor = anon_client()
    assert visitor.post("/api/user/passkey/login/finish", json=shaped) == {
        "success": False,
        "message": NO_LOGIN,
    }

    cases: list[tuple[dict[str, Any], str]] = [
        ({"content": b""}, "unexpected EOF"),
        ({"content": b"{not json"}, "invalid JSON"),
        ({"json": [1, 2]}, "request body must be a JSON object"),
        ({"json": "text"}, "request body must be a JSON object"),
        ({"json": {}}, "field 'id' is required"),
        ({"json": {"id": 5, "rawId": "AA", "response": {}}}, "field 'id' must be a string, not integer"),
        ({"json": {"id": "AA", "rawId": "AA", "response": "x"}}, "field 'response' must be an object"),
        ({"json": {"id": "AA", "rawId": "AA", "type": "public-key", "response": {}}}, "login failed:"),
        ({"json": {"id": "AA", "rawId": "!!", "response": {"clientDataJSON": 3}}}, "login failed:"),
    ]
    for kwargs, fragment in cases:
        visitor.post("/api/user/passkey/login/begin")
        answer = visitor.http.post("/api/user/passkey/login/finish", **kwargs)
        assert answer.status_code == 200
        body = answer.json()
        assert body["success"] is False and fragment in body["message"], (kwargs, body)
        assert "Traceback" not in answer.text and "internal error" not in body["message"]

    for kwargs, fragment in cases[2:]:
        nina.post("/api/user/passkey/register/begin")
        answer = nina.http.post("/api/user/passkey/register/finish", **kwargs)
        body = answer.json()
        expected = fragment.replace("login failed", "registration failed")
        assert body["success"] is False and expected in body["message"], (kwargs, body)

    device = SoftWebauthnDevice()
    assert register(nina, device)["success"] is True
    ref = nina.get("/api/user/passkey")["data"][0]["id"]
    for payload, message in (
        ({"name": ""}, "name must be 1-128 characters"),
        ({"name": "   "}, "name must be 1-128 characters"),
        ({"name": "y" * 129}, "name must be 1-128 characters"),
        ({"name": 7}, "invalid parameter"),
        ({}, "name must be 1-128 characters"),
        ([], "invalid parameter"),
    ):
        assert nina.put(f"/api/user/passkey/{ref}", json=payload) == {"success": False, "message": message}
    assert nina.http.put(f"/api/user/passkey/{ref}", content=b"{").json() == {
        "success": False,
        "message": "invalid parameter",
    }
    for bad in ("abc", "-", "1.5", "x" * 40 + "-", "١٢"):
        assert nina.delete(f"/api/user/passkey/{bad}") == {
            "success": False,
            "message": "invalid credential id",
        }


def test_sign_in_routes_count_against_the_critical_limit(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(CRITICAL_RATE_LIMIT="3", GLOBAL_API_RATE_LIMIT="1000")
    statuses = [
        httpx.post(f"{server.url}/api/user/passkey/login/{step}").status_code
        for step in ("begin", "finish", "begin", "finish")
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429


# ---- a passkey the fork stored ----------------------------------------------------------------


def test_migrate_on_a_one_api_database_then_a_fork_made_passkey_signs_in(
    db: sa.Engine, database: tuple[dict[str, str], str], make_server: Callable[..., LiveServer]
) -> None:
    create_one_api_schema(db)
    uid = insert_user(db, "olga", "password123")
    result = subprocess.run(
        [sys.executable, "-m", "oneapi", "migrate"],
        env={**os.environ, **database[0]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    inspector = sa.inspect(db)
    columns = {c["name"] for c in inspector.get_columns("passkey_credentials")}
    assert columns == {
        "id", "uuid", "user_id", "user_uuid", "credential_name", "credential_id", "public_key",
        "attestation_type", "aaguid", "sign_count", "backup_eligible", "backup_state", "transport",
        "created_at", "updated_at",
    }  # fmt: skip
    indexes = {i["name"] for i in inspector.get_indexes("passkey_credentials")}
    assert {"idx_passkey_credentials_user_id", "idx_passkey_credentials_credential_id"} <= indexes

    # a row as the fork writes it: the user handle is the id as 8 big-endian bytes
    device = SoftWebauthnDevice()
    device.cred_init("localhost", struct.pack(">Q", uid))
    public_key = cbor.encode(ES256.from_cryptography_key(device.private_key.public_key()))
    with db.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO passkey_credentials (uuid, user_id, credential_name, credential_id, "
                "public_key, attestation_type, aaguid, sign_count, backup_eligible, backup_state, "
                "transport, created_at, updated_at) VALUES ('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', :u, "
                "'Fork key', :c, :p, 'none', :a, 0, false, false, 'internal', 1735689600000, 1735689600000)"
            ),
            {"u": uid, "c": device.credential_id, "p": public_key, "a": b"\x00" * 16},
        )
    server = make_server()
    visitor = Api(server.url)
    try:
        assert passkey_login(visitor, device)["data"]["username"] == "olga"
        listed = visitor.get("/api/user/passkey")["data"]
        assert [(p["uuid"], p["credential_name"], p["sign_count"]) for p in listed] == [
            ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "Fork key", 1)
        ]
    finally:
        visitor.close()


# ---- shared state in Redis ------------------------------------------------------------------


@pytest.fixture
def redis_url() -> Iterator[str]:
    """ONEAPI_TEST_REDIS_URL on database 13, without passkey or rate-limit keys; skip without it."""
    url = os.environ.get("ONEAPI_TEST_REDIS_URL", "")
    if not url:
        pytest.skip("Redis tests need ONEAPI_TEST_REDIS_URL, e.g. redis://127.0.0.1:6379/0")
    url = urlunsplit(urlsplit(url)._replace(path="/13"))
    client = redis.Redis.from_url(url)

    def clean() -> None:
        for pattern in ("passkey:ceremony:*", "rateLimit:*"):
            for key in client.scan_iter(pattern):
                client.delete(key)

    clean()
    yield url
    clean()
    client.close()


def test_nodes_sharing_redis_share_ceremonies_and_use_them_once(
    make_server: Callable[..., LiveServer], redis_url: str, db: sa.Engine
) -> None:
    node_a = make_server(REDIS_CONN_STRING=redis_url, CRITICAL_RATE_LIMIT="1000")
    node_b = make_server(REDIS_CONN_STRING=redis_url, CRITICAL_RATE_LIMIT="1000")
    insert_user(db, "pat", "password123")
    pat = Api(node_a.url)
    visitor = Api(node_a.url)
    try:
        pat.login("pat", "password123")
        device = SoftWebauthnDevice()
        begun = pat.post("/api/user/passkey/register/begin")["data"]
        made = attestation_json(device.create(for_device(begun), ORIGIN))
        cookie = pat.http.cookies["session"]
        # begun on node A, finished on node B
        finished = httpx.post(
            f"{node_b.url}/api/user/passkey/register/finish", json=made, cookies={"session": cookie}
        ).json()
        assert finished["success"] is True, finished

        signed = assertion(visitor, device)
        cookie = visitor.http.cookies["session"]
        first = httpx.post(
            f"{node_b.url}/api/user/passkey/login/finish", json=signed, cookies={"session": cookie}
        )
        second = httpx.post(
            f"{node_a.url}/api/user/passkey/login/finish", json=signed, cookies={"session": cookie}
        )
        assert first.json()["success"] is True
        assert second.json() == {"success": False, "message": NO_LOGIN}
    finally:
        pat.close()
        visitor.close()
