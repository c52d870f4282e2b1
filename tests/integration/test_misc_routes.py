"""The small routes of SPEC §1.3: status, content options, groups, model lists, with their role rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.client import Api

STATUS_FIELDS = {
    "version",
    "start_time",
    "email_verification",
    "github_oauth",
    "github_client_id",
    "lark_client_id",
    "system_name",
    "logo",
    "footer_html",
    "wechat_qrcode",
    "wechat_login",
    "server_address",
    "turnstile_check",
    "turnstile_site_key",
    "top_up_link",
    "chat_link",
    "quota_per_unit",
    "display_in_currency",
    "oidc",
    "oidc_client_id",
    "oidc_well_known",
    "oidc_authorization_endpoint",
    "oidc_token_endpoint",
    "oidc_userinfo_endpoint",
    "password_login",
    "password_register",
    "stripe_enabled",
    "min_topup_usd",
}


def add_channel(root: Api, name: str, models: str, **fields: Any) -> int:
    body = root.post(
        "/api/channel/",
        json={"name": name, "type": 1, "key": "upstream-key", "models": models, "group": "default", **fields},
    )
    assert body["success"], body
    return int(body["data"][0]["id"])


def set_option(root: Api, key: str, value: str) -> None:
    body = root.put("/api/option/", json={"key": key, "value": value})
    assert body["success"], body


def refused(api: Api, path: str, status: int, **kw: Any) -> None:
    response = api.http.get(path, **kw)
    assert response.status_code == status
    assert response.json()["success"] is False


def test_status_is_public_and_has_every_field(anon: Api, root: Api) -> None:
    set_option(root, "SystemName", "Gateway X")
    body = anon.get("/api/status")
    assert body["success"] is True
    assert STATUS_FIELDS - set(body["data"]) == set()
    assert body["data"]["system_name"] == "Gateway X"
    assert body["data"]["quota_per_unit"] == 500000
    assert body["data"]["password_login"] is True
    assert isinstance(body["data"]["start_time"], int)


@pytest.mark.parametrize(
    ("path", "option"),
    [("/api/notice", "Notice"), ("/api/about", "About"), ("/api/home_page_content", "HomePageContent")],
)
def test_content_options_are_public(anon: Api, root: Api, path: str, option: str) -> None:
    assert anon.get(path) == {"success": True, "message": "", "data": ""}
    set_option(root, option, f"# {option}\nwith **markdown**")
    assert anon.get(path)["data"] == f"# {option}\nwith **markdown**"


def test_groups_are_the_group_ratio_keys(anon: Api, root: Api, make_user: Callable[..., Api]) -> None:
    assert sorted(root.get("/api/group/")["data"]) == ["default", "svip", "vip"]
    set_option(root, "GroupRatio", '{"default": 1, "team": 0.5}')
    assert sorted(root.get("/api/group/")["data"]) == ["default", "team"]
    assert sorted(make_user("admin1", role=10).get("/api/group/")["data"]) == ["default", "team"]
    refused(make_user("alice"), "/api/group/", 403)
    refused(anon, "/api/group/", 401)


def test_models_map_channel_types_to_known_and_configured_models(
    anon: Api, root: Api, make_user: Callable[..., Api]
) -> None:
    add_channel(root, "openai", "gpt-4o,my-private-model")
    add_channel(root, "claude", "claude-in-house", type=14)
    data = root.get("/api/models")["data"]
    assert all(key.isdigit() for key in data)
    assert data["1"].count("gpt-4o") == 1
    assert "my-private-model" in data["1"] and "gpt-4o-mini" in data["1"]
    assert "claude-in-house" in data["14"] and "claude-3-haiku-20240307" in data["14"]
    assert "my-private-model" not in data["14"]
    assert make_user("admin1", role=10).get("/api/models")["data"] == data
    refused(make_user("alice"), "/api/models", 403)
    refused(anon, "/api/models", 401)


@pytest.fixture
def served(root: Api) -> None:
    """Channels: default group serves b-model and a-model, vip serves vip-model; a disabled one more."""
    add_channel(root, "main", "b-model,a-model")
    add_channel(root, "vip", "vip-model", group="vip")
    disabled = add_channel(root, "off", "gone-model,a-model")
    assert root.put("/api/channel/?status_only=1", json={"id": disabled, "status": 2})["success"]


@pytest.mark.usefixtures("served")
def test_user_available_models_are_those_of_their_group(anon: Api, make_user: Callable[..., Api]) -> None:
    assert make_user("alice").get("/api/user/available_models") == {
        "success": True,
        "message": "",
        "data": ["a-model", "b-model"],
    }
    assert make_user("bob", group="vip").get("/api/user/available_models")["data"] == ["vip-model"]
    assert make_user("carol", group="nobody").get("/api/user/available_models")["data"] == []
    refused(anon, "/api/user/available_models", 401)


@pytest.mark.usefixtures("served")
def test_key_available_models_intersect_its_allow_list(anon: Api, make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")

    def key(**fields: Any) -> str:
        body = alice.post("/api/token/", json={"name": "k", "unlimited_quota": True, **fields})
        assert body["success"], body
        return str(body["data"]["key"])

    def available(token: str) -> Any:
        return anon.get("/api/available_models", headers={"Authorization": f"Bearer {token}"})

    assert available(key()) == {
        "success": True,
        "message": "",
        "data": {"available": ["a-model", "b-model"], "enabled": True},
    }
    restricted = key(models="b-model,vip-model,not-served")
    assert available(restricted)["data"] == {"available": ["b-model"], "enabled": True}

    missing = anon.http.get("/api/available_models")
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("No token provided")
    wrong = anon.http.get("/api/available_models", headers={"Authorization": "Bearer sk-not-a-key"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
