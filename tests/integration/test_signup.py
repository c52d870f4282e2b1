"""Sign-up: /api/user/register with its option switches, emailed codes over SMTP, password reset."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlparse, urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from redis import asyncio as aioredis

from oneapi.services.verification import VerificationCodes
from tests.support.client import Api
from tests.support.fake_smtp import FakeSmtp, code_in
from tests.support.server import LiveServer


@pytest.fixture
def server(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server(CRITICAL_RATE_LIMIT="0")


@pytest.fixture(scope="module")
def smtp() -> Iterator[FakeSmtp]:
    fake = FakeSmtp().start()
    yield fake
    fake.stop()


def set_option(root: Api, key: str, value: str) -> None:
    answer = root.put("/api/option/", json={"key": key, "value": value})
    assert answer["success"], answer


@pytest.fixture
def mail_on(root: Api, smtp: FakeSmtp) -> FakeSmtp:
    set_option(root, "SMTPServer", "127.0.0.1")
    set_option(root, "SMTPPort", str(smtp.port))
    set_option(root, "SMTPFrom", "noreply@oneapi.test")
    return smtp


def register(api: Api, **body: object) -> dict[str, object]:
    answer: dict[str, object] = api.post("/api/user/register", json=body)
    return answer


def user_row(db: sa.Engine, username: str) -> sa.Row[object] | None:
    with db.connect() as conn:
        stmt = sa.text("SELECT id, quota, email, inviter_id, display_name FROM users WHERE username = :u")
        return conn.execute(stmt, {"u": username}).first()


def test_register_creates_an_account_that_can_log_in_with_a_default_token(anon: Api, db: sa.Engine) -> None:
    assert register(anon, username="alice", password="password123") == {"success": True, "message": ""}
    row = user_row(db, "alice")
    assert row is not None and row.display_name == "alice"
    Api(str(anon.http.base_url)).login("alice", "password123")
    with db.connect() as conn:
        names = (
            conn.execute(sa.text("SELECT name FROM tokens WHERE user_id = :i"), {"i": row.id}).scalars().all()
        )
    assert names == ["default"]


def test_register_refuses_when_registration_or_password_registration_is_off(root: Api, anon: Api) -> None:
    set_option(root, "PasswordRegisterEnabled", "false")
    answer = register(anon, username="bob", password="password123")
    assert answer["message"] == (
        "The administrator has turned off registration via password, "
        "please use third-party account verification"
    )
    set_option(root, "RegisterEnabled", "false")
    answer = register(anon, username="bob", password="password123")
    assert answer == {"success": False, "message": "The administrator has turned off new user registration"}


@pytest.mark.parametrize(
    "body",
    [
        {"username": "x" * 31, "password": "password123"},
        {"username": "carol", "password": "short"},
        {"username": "carol", "password": "p" * 21},
        {"username": "carol", "password": "password123", "display_name": "d" * 21},
        {"username": "carol", "password": "password123", "email": "not-an-email"},
        {"username": "carol", "password": "password123", "email": "a" * 45 + "@x.com"},
        {"username": "", "password": "password123"},
    ],
)
def test_register_validates_its_fields(anon: Api, body: dict[str, str]) -> None:
    assert register(anon, **body) == {"success": False, "message": "Invalid input, please check your input"}


def test_register_answers_bad_json_and_wrong_types_with_invalid_parameter(anon: Api) -> None:
    answer = anon.post(
        "/api/user/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer == {"success": False, "message": "invalid parameter"}
    assert register(anon, username=5, password="password123")["message"] == "invalid parameter"


def test_register_refuses_a_taken_username(anon: Api) -> None:
    assert register(anon, username="dave", password="password123")["success"]
    assert register(anon, username="dave", password="password456") == {
        "success": False,
        "message": "Username already exists",
    }


def test_email_verification_needs_the_mailed_code_which_works_once(
    root: Api, anon: Api, mail_on: FakeSmtp, db: sa.Engine
) -> None:
    set_option(root, "EmailVerificationEnabled", "true")
    wrong = register(
        anon, username="erin", password="password123", email="erin@gmail.com", verification_code="zz"
    )
    assert wrong["message"] == "Verification code error or expired"
    assert anon.get("/api/verification", params={"email": "erin@gmail.com"}) == {
        "success": True,
        "message": "",
    }
    mail = mail_on.last_to("erin@gmail.com")
    assert mail.sender == "noreply@oneapi.test"
    code = code_in(mail)
    assert len(code) == 6
    body = {
        "username": "erin",
        "password": "password123",
        "email": "erin@gmail.com",
        "verification_code": code,
    }
    assert register(anon, **body)["success"]
    row = user_row(db, "erin")
    assert row is not None and row.email == "erin@gmail.com"
    again = register(anon, **{**body, "username": "erin2"})
    assert again["message"] == "Verification code error or expired"


def test_verification_is_refused_for_an_email_already_in_use(anon: Api, mail_on: FakeSmtp) -> None:
    assert register(anon, username="fay", password="password123", email="fay@gmail.com")["success"]
    answer = anon.get("/api/verification", params={"email": "fay@gmail.com"})
    assert answer == {"success": False, "message": "The email address is already in use"}
    assert anon.get("/api/verification", params={"email": "nope"})["message"] == "invalid parameter"


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("a@gmail.com", True),
        ("a@GMAIL.com", True),
        ("a@evilgmail.com", False),
        ("a@gmail.com.evil.org", False),
        ("a@mail.gmail.com", False),
        ("gmail.com@evil.org", False),
    ],
)
def test_the_domain_whitelist_matches_whole_domains_on_register_and_on_sending_the_code(
    root: Api, anon: Api, mail_on: FakeSmtp, email: str, allowed: bool
) -> None:
    set_option(root, "EmailDomainRestrictionEnabled", "true")
    set_option(root, "EmailDomainWhitelist", "gmail.com,qq.com")
    refused = (
        "The administrator has enabled the email domain name whitelist, and your email address is not allowed"
    )
    sent = anon.get("/api/verification", params={"email": email})
    assert sent["success"] is allowed, sent
    registered = register(anon, username="gus", password="password123", email=email)
    assert registered["success"] is allowed, registered
    if not allowed:
        assert sent["message"] == refused and registered["message"] == refused


def test_invitation_gives_both_gifts_and_writes_system_log_rows(root: Api, anon: Api, db: sa.Engine) -> None:
    set_option(root, "QuotaForNewUser", "100")
    set_option(root, "QuotaForInvitee", "30")
    set_option(root, "QuotaForInviter", "50")
    assert register(anon, username="inviter", password="password123")["success"]
    host = Api(str(anon.http.base_url))
    host.login("inviter", "password123")
    aff = host.get("/api/user/aff")["data"]
    assert register(anon, username="invitee", password="password123", aff_code=aff)["success"]
    inviter, invitee = user_row(db, "inviter"), user_row(db, "invitee")
    assert inviter is not None and invitee is not None
    assert invitee.inviter_id == inviter.id
    assert invitee.quota == 130
    assert inviter.quota == 150
    assert host.get("/api/user/self")["data"]["quota"] == 150
    with db.connect() as conn:
        stmt = sa.text("SELECT user_id, quota FROM logs WHERE type = 4 ORDER BY id")
        rows = [tuple(r) for r in conn.execute(stmt)]
    assert rows == [(inviter.id, 100), (invitee.id, 100), (invitee.id, 30), (inviter.id, 50)]
    assert register(anon, username="stranger", password="password123", aff_code="none")["success"]
    stranger = user_row(db, "stranger")
    assert stranger is not None and stranger.inviter_id in (None, 0) and stranger.quota == 100


def test_password_reset_mails_a_link_whose_token_sets_a_new_password_once(
    root: Api, anon: Api, mail_on: FakeSmtp
) -> None:
    set_option(root, "ServerAddress", "https://gw.example.com")
    assert register(anon, username="hank", password="password123", email="hank@gmail.com")["success"]
    unknown = anon.get("/api/reset_password", params={"email": "who@gmail.com"})
    assert unknown == {"success": False, "message": "This email address is not registered"}
    assert anon.get("/api/reset_password", params={"email": "hank@gmail.com"})["success"]
    mail = mail_on.last_to("hank@gmail.com")
    link = next(
        w for w in mail.body.replace('"', " ").split() if w.startswith("https://gw.example.com/user/reset?")
    )
    query = parse_qs(urlparse(link.replace("&amp;", "&")).query)
    assert query["email"] == ["hank@gmail.com"]
    body = {"email": "hank@gmail.com", "token": query["token"][0]}
    wrong = anon.post("/api/user/reset", json={**body, "token": "wrong"})
    assert wrong == {"success": False, "message": "The reset link is invalid or has expired"}
    answer = anon.post("/api/user/reset", json=body)
    assert answer["success"] and isinstance(answer["data"], str) and len(answer["data"]) >= 8
    Api(str(anon.http.base_url)).login("hank", answer["data"])
    assert anon.post("/api/user/reset", json=body)["message"] == "The reset link is invalid or has expired"
    assert anon.post("/api/user/reset", json={"email": 3})["message"] == "invalid parameter"


def test_a_broken_smtp_server_is_reported_not_raised(root: Api, anon: Api) -> None:
    assert anon.get("/api/verification", params={"email": "ivy@gmail.com"}) == {
        "success": False,
        "message": "SMTP server is not configured",
    }
    set_option(root, "SMTPServer", "127.0.0.1")
    set_option(root, "SMTPPort", "1")
    answer = anon.get("/api/verification", params={"email": "ivy@gmail.com"})
    assert answer["success"] is False and answer["message"].startswith("failed to send email")


def redis_url() -> str:
    """ONEAPI_TEST_REDIS_URL on database 15 (as the rate-limit tests use it); skip without it."""
    url = os.environ.get("ONEAPI_TEST_REDIS_URL", "")
    if not url:
        pytest.skip("Redis tests need ONEAPI_TEST_REDIS_URL, e.g. redis://127.0.0.1:6379/0")
    return urlunsplit(urlsplit(url)._replace(path="/15"))


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_codes_expire_and_are_single_use(store: str) -> None:
    async def scenario() -> None:
        client = aioredis.Redis.from_url(redis_url()) if store == "redis" else None
        codes = VerificationCodes(client, ttl=1)
        email = f"{uuid.uuid4().hex}@b.co"
        code = await codes.issue("v", email, 6)
        assert not await codes.check("v", email, "other")
        assert not await codes.check("r", email, code)
        assert await codes.check("v", email.upper(), code)
        assert not await codes.check("v", email, code)
        late = await codes.issue("v", email, 6)
        await asyncio.sleep(1.3)
        assert not await codes.check("v", email, late)
        if client is not None:
            await client.aclose()

    asyncio.run(scenario())


def test_mailed_codes_work_through_redis_when_it_is_configured(
    make_server: Callable[..., LiveServer], smtp: FakeSmtp, db: sa.Engine
) -> None:
    server = make_server(CRITICAL_RATE_LIMIT="0", REDIS_CONN_STRING=redis_url())
    root, anon = Api(server.url), Api(server.url)
    root.login("root", "123456")
    set_option(root, "SMTPServer", "127.0.0.1")
    set_option(root, "SMTPPort", str(smtp.port))
    set_option(root, "EmailVerificationEnabled", "true")
    email = f"{uuid.uuid4().hex[:12]}@gmail.com"
    assert anon.get("/api/verification", params={"email": email})["success"]
    body = {"username": "rita", "password": "password123", "email": email}
    mail = smtp.last_to(email)
    assert mail.sender == "no-reply@127.0.0.1"  # no SMTPFrom nor SMTPAccount: a sender is still given
    assert register(anon, **body, verification_code=code_in(mail))["success"]
    row = user_row(db, "rita")
    assert row is not None and row.email == email
