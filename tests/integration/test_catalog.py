"""Console catalogues: channel type metadata, the priced model list, root's dashboard user picker."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.client import Api


def test_channel_metadata_lists_every_type(root: Api, make_user: Callable[..., Api]) -> None:
    types = {t["type"]: t for t in root.get("/api/channel/metadata")["data"]}
    assert types[1]["name"] == "openai" and types[1]["default_base_url"] == "https://api.openai.com"
    assert types[14]["default_base_url"] == "https://api.anthropic.com"
    assert "gpt-4o-mini" in types[1]["models"]
    assert make_user("c1").http.get("/api/channel/metadata").status_code == 403


def test_models_display_prices_the_groups_models(root: Api, anon: Api) -> None:
    body = {"name": "ch", "type": 1, "key": "k", "models": "gpt-4o-mini", "group": "default"}
    assert root.post("/api/channel/", json=body)["success"]
    shown = anon.get("/api/models/display")["data"]
    assert shown["group"] == "default"
    mini = next(m for m in shown["models"] if m["model"] == "gpt-4o-mini")
    assert mini["input_usd_per_1m"] == 0.15 and mini["output_usd_per_1m"] == 0.6
    assert mini["cached_input_usd_per_1m"] == 0.075


def test_dashboard_users_is_for_root(root: Api, make_user: Callable[..., Api]) -> None:
    admin = make_user("adm", role=10)
    names = [u["username"] for u in root.get("/api/user/dashboard/users")["data"]]
    assert names[0] == "root" and "adm" in names
    assert admin.http.get("/api/user/dashboard/users").status_code == 403
