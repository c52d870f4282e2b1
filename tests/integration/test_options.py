"""GET/PUT /api/option/: root only, secrets hidden, validation, persistence, multi-node sync."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from oneapi.services.option_defaults import SECRET_SUFFIXES
from tests.support.client import Api
from tests.support.rows import quoted
from tests.support.server import LiveServer

INSUFFICIENT = "No permission to perform this operation, insufficient permissions"


def stored(db: sa.Engine, key: str) -> str | None:
    """The value in the `options` table, or None when there is no row."""
    k = quoted(db, "key")
    with db.connect() as conn:
        value = conn.execute(sa.text(f"SELECT value FROM options WHERE {k} = :k"), {"k": key}).scalar()
    return None if value is None else str(value)


def listed(api: Api) -> dict[str, str]:
    body = api.get("/api/option/")
    assert body["success"] is True, body
    return {item["key"]: item["value"] for item in body["data"]}


def put(api: Api, key: str, value: Any, **extra: Any) -> Any:
    return api.put("/api/option/", json={"key": key, "value": value, **extra})


@pytest.fixture
def login_root() -> Iterator[Callable[[LiveServer], Api]]:
    """Log in as root on any of the test's servers."""
    clients: list[Api] = []

    def login(server: LiveServer) -> Api:
        api = Api(server.url)
        api.login("root", "123456")
        clients.append(api)
        return api

    yield login
    for api in clients:
        api.close()


def test_root_lists_every_option_as_strings(root: Api) -> None:
    options = listed(root)
    assert options["SystemName"] == "One API"
    assert options["QuotaPerUnit"] == "500000"
    assert options["RegisterEnabled"] == "true"
    assert all(isinstance(v, str) for v in options.values())


def test_option_routes_are_root_only(make_user: Callable[..., Api], anon: Api) -> None:
    admin = make_user("admin1", role=10)
    common = make_user("common1")
    for api in (admin, common):
        for response in (
            api.http.get("/api/option/"),
            api.http.put("/api/option/", json={"key": "SystemName", "value": "x"}),
        ):
            assert response.status_code == 403
            assert response.json() == {"success": False, "message": INSUFFICIENT}
    assert anon.http.get("/api/option/").status_code == 401
    assert anon.http.put("/api/option/", json={"key": "SystemName", "value": "x"}).status_code == 401


def test_change_is_persisted_and_served_at_once(root: Api, anon: Api, db: sa.Engine) -> None:
    assert put(root, "SystemName", "My Gateway") == {"success": True, "message": ""}
    assert stored(db, "SystemName") == "My Gateway"
    assert listed(root)["SystemName"] == "My Gateway"
    assert anon.get("/api/status")["data"]["system_name"] == "My Gateway"


def test_secrets_are_settable_but_never_listed(root: Api, db: sa.Engine) -> None:
    secrets = {
        "GitHubClientSecret": "gh-secret",
        "SMTPToken": "smtp-token",
        "TurnstileSecretKey": "ts-key",
        "ResendAPIKey": "re_123",
        "CustomPassword": "hunter2",
    }
    for key, value in secrets.items():
        assert put(root, key, value)["success"] is True
        assert stored(db, key) == value
    options = listed(root)
    assert not [k for k in options if k.endswith(SECRET_SUFFIXES)]
    assert not set(secrets.values()) & set(options.values())


def test_blank_secret_is_ignored_unless_cleared(root: Api, db: sa.Engine) -> None:
    put(root, "GitHubClientSecret", "gh-secret")
    for blank in ("", "   ", None):
        assert put(root, "GitHubClientSecret", blank) == {
            "success": True,
            "message": "empty value ignored for sensitive option",
        }
    assert stored(db, "GitHubClientSecret") == "gh-secret"
    assert put(root, "GitHubClientSecret", "", clear=True) == {"success": True, "message": ""}
    assert stored(db, "GitHubClientSecret") == ""


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "GitHubOAuthEnabled",
            "Unable to enable GitHub OAuth, please fill in the GitHub Client Id and "
            "GitHub Client Secret first!",
        ),
        (
            "WeChatAuthEnabled",
            "Unable to enable WeChat login, please fill in the relevant configuration "
            "information for WeChat login first!",
        ),
        (
            "TurnstileCheckEnabled",
            "Unable to enable Turnstile verification, please fill in the relevant "
            "configuration information for Turnstile verification first!",
        ),
    ],
)
def test_enabling_a_login_needs_its_configuration(root: Api, db: sa.Engine, key: str, message: str) -> None:
    assert put(root, key, "true") == {"success": False, "message": message}
    assert stored(db, key) is None
    assert listed(root)[key] == "false"


def test_github_oauth_can_be_enabled_once_configured(root: Api, anon: Api) -> None:
    assert put(root, "GitHubClientId", "Iv1.abc")["success"] is True
    assert put(root, "GitHubOAuthEnabled", "true") == {"success": True, "message": ""}
    status = anon.get("/api/status")["data"]
    assert status["github_oauth"] is True and status["github_client_id"] == "Iv1.abc"


def test_email_domain_restriction_needs_a_whitelist(root: Api) -> None:
    assert put(root, "EmailDomainWhitelist", "")["success"] is True
    body = put(root, "EmailDomainRestrictionEnabled", "true")
    assert body == {
        "success": False,
        "message": "Unable to enable email domain restriction, please fill in the restricted "
        "email domains first!",
    }


def test_theme_is_validated_and_default_means_modern(root: Api, db: sa.Engine) -> None:
    assert put(root, "Theme", "neon") == {"success": False, "message": "invalid theme"}
    assert put(root, "Theme", "air")["success"] is True
    assert listed(root)["Theme"] == "air"
    assert put(root, "Theme", "default")["success"] is True
    assert listed(root)["Theme"] == "modern"
    assert stored(db, "Theme") == "modern"


def test_bool_and_number_values_become_one_api_strings(root: Api, db: sa.Engine) -> None:
    assert put(root, "RegisterEnabled", False)["success"] is True
    assert put(root, "QuotaForNewUser", 2500)["success"] is True
    assert put(root, "ChannelDisableThreshold", 2.5)["success"] is True
    assert put(root, "RetryTimes", 3.0)["success"] is True
    options = listed(root)
    assert options["RegisterEnabled"] == "false" and stored(db, "RegisterEnabled") == "false"
    assert options["QuotaForNewUser"] == "2500"
    assert options["ChannelDisableThreshold"] == "2.5"
    assert options["RetryTimes"] == "3"


def test_typed_options_refuse_values_of_the_wrong_kind(root: Api) -> None:
    assert put(root, "QuotaForNewUser", "lots") == {
        "success": False,
        "message": "QuotaForNewUser must be an integer",
    }
    assert put(root, "QuotaForNewUser", True)["success"] is False
    assert put(root, "RegisterEnabled", "yes") == {
        "success": False,
        "message": 'RegisterEnabled must be "true" or "false"',
    }
    assert put(root, "QuotaPerUnit", "abc")["message"] == "QuotaPerUnit must be a number"
    options = listed(root)
    assert options["QuotaForNewUser"] == "0" and options["RegisterEnabled"] == "true"


def test_malformed_body_is_http_400_invalid_parameter(root: Api) -> None:
    invalid = {"success": False, "message": "invalid parameter"}
    bad_bodies = ['{"key": "SystemName", "value": ', "[]", '{"value": "x"}', '{"key": 7, "value": "x"}']
    bad_bodies += [
        '{"key": "SystemName", "value": {"a": 1}}',
        '{"key": "SMTPToken", "value": "", "clear": 1}',
    ]
    for raw in bad_bodies:
        response = root.http.put("/api/option/", content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, raw
        assert response.json() == invalid, raw
    assert listed(root)["SystemName"] == "One API"


def test_unknown_keys_are_stored_and_listed(root: Api, db: sa.Engine) -> None:
    assert put(root, "MyDashboardBanner", "hello") == {"success": True, "message": ""}
    assert stored(db, "MyDashboardBanner") == "hello"
    assert listed(root)["MyDashboardBanner"] == "hello"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"default": 1', "GroupRatio is not valid JSON"),
        ("[1, 2]", "GroupRatio must be a JSON object mapping names to numbers"),
        ('{"vip": "two"}', "GroupRatio: the value of 'vip' must be a number"),
        ('{"vip": -1}', "GroupRatio: the value of 'vip' must be a finite number >= 0"),
    ],
)
def test_bad_group_ratio_is_refused_and_old_value_kept(
    root: Api, db: sa.Engine, value: str, message: str
) -> None:
    good = '{"default":1,"vip":0.8}'
    assert put(root, "GroupRatio", good)["success"] is True
    body = put(root, "GroupRatio", value)
    assert body["success"] is False and body["message"].startswith(message), body
    assert listed(root)["GroupRatio"] == good
    assert stored(db, "GroupRatio") == good


@pytest.mark.parametrize("key", ["ModelRatio", "CompletionRatio"])
def test_model_ratio_maps_are_validated_too(root: Api, key: str) -> None:
    assert put(root, key, '{"gpt-4o": 2.5}')["success"] is True
    assert put(root, key, '"gpt-4o"')["message"] == f"{key} must be a JSON object mapping names to numbers"
    assert listed(root)[key] == '{"gpt-4o": 2.5}'


def test_options_survive_a_restart(
    make_server: Callable[..., LiveServer], login_root: Callable[[LiveServer], Api]
) -> None:
    first = make_server()
    api = login_root(first)
    assert put(api, "SystemName", "Persisted")["success"] is True
    assert put(api, "GroupRatio", '{"default":1,"team":0.5}')["success"] is True
    first.stop()
    second = make_server()
    options = listed(login_root(second))
    assert options["SystemName"] == "Persisted"
    assert options["GroupRatio"] == '{"default":1,"team":0.5}'
    assert second.state.options.ratios("GroupRatio") == {"default": 1.0, "team": 0.5}


def test_change_on_one_node_reaches_another_node(
    make_server: Callable[..., LiveServer], login_root: Callable[[LiveServer], Api]
) -> None:
    master = make_server()
    slave = make_server(NODE_TYPE="slave", SYNC_FREQUENCY="1")
    watcher = Api(slave.url)
    try:
        assert watcher.get("/api/status")["data"]["system_name"] == "One API"
        assert put(login_root(master), "SystemName", "Changed On Master")["success"] is True
        deadline = time.monotonic() + 10
        while watcher.get("/api/status")["data"]["system_name"] != "Changed On Master":
            assert time.monotonic() < deadline, "the slave did not pick up the option within 10 s"
            time.sleep(0.2)
        assert listed(login_root(slave))["SystemName"] == "Changed On Master"
    finally:
        watcher.close()
