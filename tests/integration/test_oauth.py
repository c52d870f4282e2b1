"""GitHub OAuth, OIDC and Turnstile against local fake providers; binding an email with a mailed code."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_oauth import GOOD_TURNSTILE, FakeOAuth
from tests.support.fake_smtp import FakeSmtp, code_in
from tests.support.server import LiveServer

FORM = "application/x-www-form-urlencoded"
BAD_STATE = {"success": False, "message": "state is empty or not same"}


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeOAuth]:
    fake = FakeOAuth().start()
    yield fake
    fake.stop()


@pytest.fixture
def server(make_server: Callable[..., LiveServer], provider: FakeOAuth) -> LiveServer:
    provider.forms.clear()
    return make_server(
        CRITICAL_RATE_LIMIT="0",
        GITHUB_OAUTH_BASE_URL=provider.url,
        GITHUB_API_BASE_URL=provider.url,
        TURNSTILE_VERIFY_URL=f"{provider.url}/turnstile/siteverify",
    )


def set_options(root: Api, **values: str) -> None:
    for key, value in values.items():
        answer = root.put("/api/option/", json={"key": key, "value": value})
        assert answer["success"], answer


@pytest.fixture
def github_on(root: Api) -> None:
    set_options(root, GitHubClientId="gh-client", GitHubClientSecret="gh-secret", GitHubOAuthEnabled="true")


def oidc_options(provider: FakeOAuth) -> dict[str, str]:
    return {
        "OidcClientId": "oidc-client",
        "OidcClientSecret": "oidc-secret",
        "OidcWellKnown": f"{provider.url}/oidc/.well-known/openid-configuration",
        "OidcAuthorizationEndpoint": f"{provider.url}/oidc/authorize",
        "OidcTokenEndpoint": f"{provider.url}/oidc/token",
        "OidcUserinfoEndpoint": f"{provider.url}/oidc/userinfo",
        "ServerAddress": "https://gw.example.com",
        "OidcEnabled": "true",
    }


@pytest.fixture
def oidc_on(root: Api, provider: FakeOAuth) -> None:
    set_options(root, **oidc_options(provider))


def sign_in(api: Api, provider_path: str, code: str) -> dict[str, object]:
    state = api.get("/api/oauth/state")
    assert state["success"] and len(state["data"]) == 12
    answer: dict[str, object] = api.get(provider_path, params={"code": code, "state": state["data"]})
    return answer


def column_of(db: sa.Engine, column: str, username: str) -> object:
    with db.connect() as conn:
        return conn.execute(
            sa.text(f"SELECT {column} FROM users WHERE username = :u"), {"u": username}
        ).scalar()


def test_github_provisions_a_user_and_logs_in_with_a_form_encoded_token_request(
    anon: Api, provider: FakeOAuth, github_on: None, db: sa.Engine
) -> None:
    provider.github_users["c1"] = {"login": "octocat", "name": "The Octocat", "email": "octo@github.com"}
    answer = sign_in(anon, "/api/oauth/github", "c1")
    assert answer["success"], answer
    assert answer["data"]["username"] == "octocat"  # type: ignore[index]
    sent = provider.forms_to("/login/oauth/access_token")[-1]
    assert sent.content_type == FORM
    assert sent.form == {"client_id": "gh-client", "client_secret": "gh-secret", "code": "c1"}
    me = anon.get("/api/user/self")["data"]
    assert (me["username"], me["display_name"]) == ("octocat", "The Octocat")
    assert column_of(db, "github_id", "octocat") == "octocat"
    again = Api(str(anon.http.base_url))
    assert sign_in(again, "/api/oauth/github", "c1")["success"]
    assert again.get("/api/user/self")["data"]["id"] == me["id"]
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM users WHERE github_id = 'octocat'")).scalar() == 1


def test_github_binds_to_the_logged_in_user_and_refuses_a_taken_identity(
    anon: Api, provider: FakeOAuth, github_on: None, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    provider.github_users["c2"] = {"login": "binder", "name": "B"}
    user = make_user("localuser")
    assert sign_in(user, "/api/oauth/github", "c2") == {"success": True, "message": "", "data": "bind"}
    assert column_of(db, "github_id", "localuser") == "binder"
    other = make_user("otheruser")
    answer = sign_in(other, "/api/oauth/github", "c2")
    assert answer == {"success": False, "message": "This account has already been bound to another user"}
    assert sign_in(anon, "/api/oauth/github", "c2")["data"]["username"] == "localuser"  # type: ignore[index]


def test_github_refuses_a_disabled_user_a_bad_state_and_when_switched_off(
    root: Api, anon: Api, provider: FakeOAuth, github_on: None, db: sa.Engine
) -> None:
    provider.github_users["c3"] = {"login": "banned", "name": "X"}
    assert sign_in(anon, "/api/oauth/github", "c3")["success"]
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET status = 2 WHERE username = 'banned'"))
    fresh = Api(str(anon.http.base_url))
    assert sign_in(fresh, "/api/oauth/github", "c3") == {"success": False, "message": "User has been banned"}
    fresh.get("/api/oauth/state")
    wrong = fresh.http.get("/api/oauth/github", params={"code": "c3", "state": "not-the-state"})
    assert wrong.status_code == 403 and wrong.json() == BAD_STATE
    assert (
        Api(str(anon.http.base_url)).get("/api/oauth/github", params={"code": "c3", "state": "x"})
        == BAD_STATE
    )
    assert sign_in(fresh, "/api/oauth/github", "unknown-code") == {
        "success": False,
        "message": "Unable to connect to the identity provider, please try again later",
    }
    set_options(root, GitHubOAuthEnabled="false")
    assert sign_in(fresh, "/api/oauth/github", "c3") == {
        "success": False,
        "message": "The administrator has not enabled login and registration via GitHub",
    }


def test_github_does_not_provision_when_registration_is_off_and_renames_on_clash(
    root: Api, anon: Api, provider: FakeOAuth, github_on: None, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    make_user("taken")
    provider.github_users["c4"] = {"login": "taken", "name": "Clash"}
    answer = sign_in(anon, "/api/oauth/github", "c4")
    assert answer["success"]
    username = answer["data"]["username"]  # type: ignore[index]
    assert username != "taken" and username.startswith("github_")
    provider.github_users["c5"] = {"login": "newcomer"}
    set_options(root, RegisterEnabled="false")
    refused = sign_in(Api(str(anon.http.base_url)), "/api/oauth/github", "c5")
    assert refused == {"success": False, "message": "The administrator has turned off new user registration"}


def test_oidc_logs_in_by_oidc_id_with_a_form_encoded_token_request(
    anon: Api, provider: FakeOAuth, oidc_on: None, db: sa.Engine
) -> None:
    provider.oidc_users["o1"] = {"sub": "sub-123", "preferred_username": "olivia", "name": "Olivia"}
    answer = sign_in(anon, "/api/oauth/oidc", "o1")
    assert answer["success"] and answer["data"]["username"] == "olivia"  # type: ignore[index]
    sent = provider.forms_to("/oidc/token")[-1]
    assert sent.content_type == FORM
    assert sent.form == {
        "grant_type": "authorization_code",
        "client_id": "oidc-client",
        "client_secret": "oidc-secret",
        "code": "o1",
        "redirect_uri": "https://gw.example.com/oauth/oidc",
    }
    assert column_of(db, "oidc_id", "olivia") == "sub-123"
    provider.oidc_users["o2"] = {"sub": "sub-123", "preferred_username": "renamed"}
    again = sign_in(Api(str(anon.http.base_url)), "/api/oauth/oidc", "o2")
    assert again["data"]["username"] == "olivia"  # type: ignore[index]


def test_oidc_refuses_when_off_and_on_a_bad_state(root: Api, anon: Api, provider: FakeOAuth) -> None:
    assert sign_in(anon, "/api/oauth/oidc", "o1") == {
        "success": False,
        "message": "The administrator has not enabled login and registration via OIDC",
    }
    set_options(root, **oidc_options(provider))
    assert anon.get("/api/oauth/oidc", params={"code": "o1"}) == BAD_STATE


def test_email_bind_needs_login_and_the_mailed_code(
    root: Api, anon: Api, make_user: Callable[..., Api], db: sa.Engine
) -> None:
    smtp = FakeSmtp().start()
    try:
        set_options(root, SMTPServer="127.0.0.1", SMTPPort=str(smtp.port), SMTPFrom="noreply@oneapi.test")
        user = make_user("mailer")
        params = {"email": "mailer@gmail.com", "code": "nope"}
        assert anon.http.get("/api/oauth/email/bind", params=params).status_code == 401
        assert (
            user.get("/api/oauth/email/bind", params=params)["message"]
            == "Verification code error or expired"
        )
        assert user.get("/api/verification", params={"email": "mailer@gmail.com"})["success"]
        params["code"] = code_in(smtp.last_to("mailer@gmail.com"))
        assert user.get("/api/oauth/email/bind", params=params) == {"success": True, "message": ""}
        assert column_of(db, "email", "mailer") == "mailer@gmail.com"
        assert (
            user.get("/api/oauth/email/bind", params=params)["message"]
            == "Verification code error or expired"
        )
    finally:
        smtp.stop()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/user/register", {"username": "tina", "password": "password123"}),
        ("get", "/api/verification?email=t@gmail.com", None),
        ("get", "/api/reset_password?email=t@gmail.com", None),
    ],
)
def test_turnstile_guards_the_ts_routes_when_enabled(
    root: Api, anon: Api, provider: FakeOAuth, method: str, path: str, body: dict[str, str] | None
) -> None:
    set_options(
        root, TurnstileSiteKey="ts-site", TurnstileSecretKey="ts-secret", TurnstileCheckEnabled="true"
    )

    def call(extra: str) -> dict[str, object]:
        url = path + ("&" if "?" in path else "?") + extra if extra else path
        answer: dict[str, object] = getattr(anon, method)(url, **({"json": body} if body else {}))
        return answer

    assert call("") == {"success": False, "message": "Turnstile token is empty"}
    assert call("turnstile=bad") == {"success": False, "message": "Turnstile verification failed"}
    sent = provider.forms_to("/turnstile/siteverify")[-1]
    assert sent.content_type == FORM
    assert sent.form["secret"] == "ts-secret" and sent.form["response"] == "bad"
    passed = call(f"turnstile={GOOD_TURNSTILE}")
    assert passed.get("message") not in ("Turnstile token is empty", "Turnstile verification failed"), passed
    if method == "post":
        assert passed == {"success": True, "message": ""}
