"""Channel management over HTTP: bulk create, updates, deletes, listing, and the abilities index."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from oneapi.db.dsn import to_async_url
from oneapi.db.tables import abilities, channels
from oneapi.services.abilities import candidates
from tests.support.client import Api
from tests.support.server import LiveServer

SECRET = "sk-upstream-secret-0123456789"


def create(api: Api, **fields: Any) -> list[dict[str, Any]]:
    body = api.post("/api/channel/", json={"name": "chan", "key": SECRET, **fields})
    assert body["success"], body
    return list(body["data"])


def ability_set(db: sa.Engine, channel_id: int | None = None) -> set[tuple[str, str, int, bool, int]]:
    """(group, model, channel_id, enabled, priority) of the ability rows, optionally of one channel."""
    stmt = sa.select(abilities)
    if channel_id is not None:
        stmt = stmt.where(abilities.c.channel_id == channel_id)
    with db.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return {(r["group"], r["model"], r["channel_id"], bool(r["enabled"]), r["priority"]) for r in rows}


def stored(db: sa.Engine, channel_id: int) -> sa.RowMapping:
    with db.connect() as conn:
        return conn.execute(sa.select(channels).where(channels.c.id == channel_id)).mappings().one()


def test_multi_line_key_creates_one_channel_per_line_with_abilities(root: Api, db: sa.Engine) -> None:
    created = create(
        root,
        type=14,
        key="key-one\n  key-two  \n\n\r\nkey-three\n",
        name="claude",
        models="claude-a, claude-b,claude-a",
        group="default,vip",
        priority=3,
        weight=2,
        model_mapping='{"claude": "claude-a"}',
        config='{"region": "us"}',
    )
    assert len(created) == 3
    ids = [c["id"] for c in created]
    with db.connect() as conn:
        rows = conn.execute(sa.select(channels).order_by(channels.c.id)).mappings().all()
    assert [r["key"] for r in rows] == ["key-one", "key-two", "key-three"]
    assert [r["id"] for r in rows] == ids
    shared = ("type", "name", "models", "group", "priority", "weight", "model_mapping", "config", "status")
    assert {tuple(r[f] for f in shared) for r in rows} == {
        (
            14,
            "claude",
            "claude-a,claude-b",
            "default,vip",
            3,
            2,
            '{"claude": "claude-a"}',
            '{"region": "us"}',
            1,
        )
    }
    assert ability_set(db) == {
        (g, m, i, True, 3) for g in ("default", "vip") for m in ("claude-a", "claude-b") for i in ids
    }
    assert all(c["key"] == "" for c in created)


def test_create_fills_defaults_and_times(root: Api, db: sa.Engine) -> None:
    before_s, before_ms = int(time.time()), int(time.time() * 1000)
    (channel,) = create(root, models="gpt-4o")
    row = stored(db, channel["id"])
    assert row["base_url"] == "" and row["group"] == "default" and row["status"] == 1
    assert row["type"] == 0 and row["priority"] == 0 and row["weight"] == 0
    assert before_s <= row["created_time"] <= before_s + 5
    assert before_ms <= row["created_at"] == row["updated_at"] <= before_ms + 5000
    assert ability_set(db) == {("default", "gpt-4o", channel["id"], True, 0)}


def test_json_key_is_one_channel(root: Api, db: sa.Engine) -> None:
    key = '{\n  "type": "service_account",\n  "project_id": "p"\n}'
    (channel,) = create(root, type=42, key=key)
    assert stored(db, channel["id"])["key"] == key


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"key": "k"}, "Channel name cannot be empty"),
        ({"name": "  ", "key": "k"}, "Channel name cannot be empty"),
        ({"name": "c", "key": " \n \n"}, "Channel key cannot be empty"),
        ({"name": "c"}, "Channel key cannot be empty"),
        ({"name": "c", "key": "k", "type": "x"}, "field 'type' must be an integer, not string"),
        ({"name": "c", "key": "k", "priority": 1.5}, "field 'priority' must be an integer, not number"),
        ({"name": "c", "key": "k", "type": 999}, "Unknown channel type: 999"),
        ({"name": "c", "key": "k", "status": 7}, "status must be 1 (enabled)"),
        ({"name": "c", "key": "k", "weight": -1}, "weight must be between 0 and"),
        ({"name": "c", "key": "k", "model_mapping": "{bad"}, "model_mapping must be a JSON object"),
        ({"name": "c", "key": "k", "model_mapping": '{"a": 1}'}, "model_mapping values must be model names"),
        (
            {"name": "c", "key": "k", "config": "[1]"},
            "config must be a JSON object or empty, not a JSON list",
        ),
        ({"name": "c", "key": "k", "model_configs": "3"}, "model_configs must be a JSON object"),
        ({"name": "c", "key": "k", "group": "g" * 33}, "group cannot be longer than 32 characters"),
        ({"name": "c", "key": "k", "base_url": "api.example.com"}, "base_url must start with http"),
    ],
)
def test_create_refusals_are_clear_and_http_200(
    root: Api, db: sa.Engine, payload: dict[str, Any], message: str
) -> None:
    response = root.http.post("/api/channel/", json=payload)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False and "data" not in body
    assert body["message"].startswith(message), body
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(channels)).scalar_one() == 0


def test_malformed_json_body_is_a_clear_error(root: Api) -> None:
    for method in ("POST", "PUT"):
        response = root.http.request(method, "/api/channel/", content=b'{"name": ')
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is False and body["message"].startswith("invalid JSON"), body
    assert root.put("/api/channel/", json=[1])["message"] == "request body must be a JSON object"


def test_update_rebuilds_abilities_and_returns_the_stored_key(root: Api, db: sa.Engine) -> None:
    (channel,) = create(
        root, name="old", models="a,b", group="default", priority=4, model_mapping='{"x": "a"}'
    )
    cid = channel["id"]
    body = root.put(
        "/api/channel/",
        json={
            "id": cid,
            "name": "",
            "key": "",
            "type": 0,
            "models": "b, c",
            "group": "default,vip",
            "priority": 9,
        },
    )
    assert body["success"], body
    assert body["data"]["key"] == SECRET and body["data"]["name"] == "old"
    assert body["data"]["models"] == "b,c" and body["data"]["priority"] == 9
    assert ability_set(db) == {(g, m, cid, True, 9) for g in ("default", "vip") for m in ("b", "c")}
    row = stored(db, cid)
    assert (row["name"], row["key"], row["model_mapping"]) == ("old", SECRET, '{"x": "a"}')
    assert row["updated_at"] >= row["created_at"]


def test_update_applies_explicit_empty_values_and_zero_priority(root: Api, db: sa.Engine) -> None:
    (channel,) = create(
        root, models="a", priority=4, weight=3, model_mapping='{"x": "a"}', system_prompt="be brief"
    )
    cid = channel["id"]
    body = root.put(
        "/api/channel/",
        json={
            "id": cid,
            "name": "renamed",
            "key": "new-key",
            "priority": 0,
            "weight": 0,
            "model_mapping": "",
            "system_prompt": "",
            "base_url": "https://up.example.com",
            "group": "",
        },
    )
    assert body["success"], body
    row = stored(db, cid)
    assert (row["name"], row["key"], row["priority"], row["weight"]) == ("renamed", "new-key", 0, 0)
    assert (row["model_mapping"], row["system_prompt"], row["group"]) == ("", "", "default")
    assert row["base_url"] == "https://up.example.com"
    assert ability_set(db) == {("default", "a", cid, True, 0)}


def test_update_of_models_to_empty_removes_all_abilities(root: Api, db: sa.Engine) -> None:
    (channel,) = create(root, models="a,b")
    assert root.put("/api/channel/", json={"id": channel["id"], "models": ""})["success"]
    assert ability_set(db) == set()


def test_update_needs_an_existing_id(root: Api) -> None:
    assert root.put("/api/channel/", json={"name": "x"})["message"] == "field 'id' is required"
    assert (
        root.put("/api/channel/", json={"id": 4040, "name": "x"})["message"] == "Channel 4040 does not exist"
    )
    body = root.put("/api/channel/?status_only=1", json={"id": 4040, "status": 2})
    assert body == {"success": False, "message": "Channel 4040 does not exist"}


def test_status_only_flips_abilities_enabled_and_nothing_else(root: Api, db: sa.Engine) -> None:
    (channel,) = create(root, name="keep", models="a,b", group="default,vip", priority=2)
    cid = channel["id"]
    body = root.put("/api/channel/?status_only=1", json={"id": cid, "status": 2, "name": "ignored"})
    assert body["success"] and body["data"]["status"] == 2 and body["data"]["name"] == "keep"
    assert stored(db, cid)["status"] == 2
    assert {r[3] for r in ability_set(db, cid)} == {False}
    assert len(ability_set(db, cid)) == 4
    assert root.put("/api/channel/?status_only=1", json={"id": cid, "status": 1})["success"]
    assert {r[3] for r in ability_set(db, cid)} == {True}
    assert root.put("/api/channel/?status_only=1", json={"id": cid})["message"].startswith("status must be")


def test_full_update_to_disabled_status_disables_abilities(root: Api, db: sa.Engine) -> None:
    (channel,) = create(root, models="a")
    assert root.put("/api/channel/", json={"id": channel["id"], "status": 3})["success"]
    assert ability_set(db) == {("default", "a", channel["id"], False, 0)}


def test_key_is_never_returned_by_list_get_or_search(root: Api) -> None:
    (channel,) = create(root, name="secretive", models="a")
    for path in ("/api/channel/", f"/api/channel/{channel['id']}", "/api/channel/search?keyword=secret"):
        response = root.http.get(path)
        assert response.status_code == 200 and SECRET not in response.text, path
    listed = root.get("/api/channel/")["data"][0]
    assert listed["key"] == "" and listed["test_models"] == ["a"]
    single = root.get(f"/api/channel/{channel['id']}")["data"]
    assert single["key"] == "" and single["name"] == "secretive" and single["balance"] == 0.0


def test_get_unknown_channel_is_a_clear_error(root: Api) -> None:
    assert root.get("/api/channel/999") == {"success": False, "message": "Channel 999 does not exist"}


def test_delete_removes_the_channel_and_its_abilities(root: Api, db: sa.Engine) -> None:
    keep, gone = create(root, key="k1\nk2", models="a,b")
    assert root.delete(f"/api/channel/{gone['id']}") == {"success": True, "message": ""}
    assert {r[2] for r in ability_set(db)} == {keep["id"]}
    assert root.get(f"/api/channel/{gone['id']}")["success"] is False
    assert root.delete(f"/api/channel/{gone['id']}")["message"] == f"Channel {gone['id']} does not exist"


def test_delete_disabled_deletes_status_2_and_3_and_counts(root: Api, db: sa.Engine) -> None:
    a, b, c, d = create(root, key="k1\nk2\nk3\nk4", models="m")
    root.put("/api/channel/?status_only=1", json={"id": b["id"], "status": 2})
    root.put("/api/channel/?status_only=1", json={"id": c["id"], "status": 3})
    assert root.delete("/api/channel/disabled") == {"success": True, "message": "", "data": 2}
    assert {ch["id"] for ch in root.get("/api/channel/")["data"]} == {a["id"], d["id"]}
    assert {r[2] for r in ability_set(db)} == {a["id"], d["id"]}
    assert root.delete("/api/channel/disabled")["data"] == 0


def test_common_user_is_forbidden_on_every_channel_route(
    root: Api, anon: Api, make_user: Callable[..., Api]
) -> None:
    (channel,) = create(root, models="a")
    user = make_user("plain")
    routes = [
        ("GET", "/api/channel/"),
        ("GET", "/api/channel/search?keyword=c"),
        ("GET", "/api/channel/models"),
        ("GET", f"/api/channel/{channel['id']}"),
        ("POST", "/api/channel/"),
        ("PUT", "/api/channel/"),
        ("PUT", "/api/channel/?status_only=1"),
        ("DELETE", "/api/channel/disabled"),
        ("DELETE", f"/api/channel/{channel['id']}"),
    ]
    for method, path in routes:
        payload = {"id": channel["id"], "name": "x", "key": "k", "status": 2}
        json = payload if method in ("POST", "PUT") else None
        response = user.http.request(method, path, json=json)
        assert response.status_code == 403, (method, path)
        assert response.json()["success"] is False
        assert anon.http.request(method, path, json=json).status_code == 401
    assert root.get(f"/api/channel/{channel['id']}")["data"]["status"] == 1


def test_admin_may_manage_channels(root: Api, make_user: Callable[..., Api]) -> None:
    admin = make_user("admin1", role=10)
    assert create(admin, models="a")[0]["id"] > 0
    assert admin.get("/api/channel/")["total"] == 1


def test_list_pages_are_capped_by_max_items_per_page(make_server: Callable[..., LiveServer]) -> None:
    api = Api(make_server(MAX_ITEMS_PER_PAGE="3").url)
    api.login("root", "123456")
    newest_first = [c["id"] for c in create(api, key="\n".join(f"k{i}" for i in range(5)))][::-1]
    first = api.get("/api/channel/?p=0&size=10")
    assert [c["id"] for c in first["data"]] == newest_first[:3] and first["total"] == 5
    second = api.get("/api/channel/?p=1&size=10")
    assert [c["id"] for c in second["data"]] == newest_first[3:] and second["total"] == 5
    assert [c["id"] for c in api.get("/api/channel/?p=1&size=2")["data"]] == newest_first[2:4]
    api.close()


def test_list_sorts_by_whitelisted_columns_and_filters(root: Api) -> None:
    bravo = create(root, name="bravo", priority=1, type=1)[0]["id"]
    create(root, name="alpha", priority=3, type=14)
    create(root, name="charlie", priority=2, type=14)

    def names(query: str) -> list[str]:
        return [c["name"] for c in root.get("/api/channel/" + query)["data"]]

    assert names("?sort=name&order=asc") == ["alpha", "bravo", "charlie"]
    assert names("?sort=priority") == ["alpha", "charlie", "bravo"]
    assert names("?sort=key&order=asc") == ["charlie", "alpha", "bravo"]
    assert names("?type=14&sort=name&order=asc") == ["alpha", "charlie"]
    assert root.get("/api/channel/?type=14")["total"] == 2
    root.put("/api/channel/?status_only=1", json={"id": bravo, "status": 2})
    assert names("?status=2") == ["bravo"]
    assert root.get("/api/channel/?status=x")["message"] == "query parameter 'status' must be an integer"


def test_search_by_name_prefix_or_id_without_total(root: Api) -> None:
    create(root, name="openai-main")
    create(root, name="openai-backup")
    create(root, name="claude")
    body = root.get("/api/channel/search?keyword=openai")
    assert "total" not in body
    assert [c["name"] for c in body["data"]] == ["openai-backup", "openai-main"]
    claude = root.get("/api/channel/search?keyword=claude")["data"][0]["id"]
    assert [c["name"] for c in root.get(f"/api/channel/search?keyword={claude}")["data"]] == ["claude"]
    assert root.get("/api/channel/search?keyword=main")["data"] == []
    assert root.get("/api/channel/search?keyword=%25")["data"] == []
    assert len(root.get("/api/channel/search?keyword=")["data"]) == 3


def test_models_is_an_openai_list_not_an_envelope(root: Api) -> None:
    body = root.get("/api/channel/models")
    assert set(body) == {"object", "data"} and body["object"] == "list"
    by_id = {m["id"]: m for m in body["data"]}
    assert by_id["gpt-4o"] == {"id": "gpt-4o", "object": "model", "created": 1626777600, "owned_by": "openai"}
    assert by_id["claude-3-5-sonnet-20241022"]["owned_by"] == "anthropic"
    assert by_id["deepseek-chat"]["owned_by"] == "deepseek"
    assert len(by_id) == len(body["data"])


def test_candidates_are_enabled_channels_of_group_and_model_by_priority(
    root: Api, database: tuple[dict[str, str], str]
) -> None:
    low = create(root, models="m", group="default,vip", priority=1)[0]["id"]
    high = create(root, models="m,n", group="vip", priority=5)[0]["id"]
    off = create(root, models="m", group="vip", priority=9)[0]["id"]
    root.put("/api/channel/?status_only=1", json={"id": off, "status": 3})
    env = database[0]

    async def read() -> tuple[list[tuple[int, int]], ...]:
        engine = create_async_engine(to_async_url(env.get("SQL_DSN", ""), env.get("SQLITE_PATH", "")))
        try:
            async with engine.connect() as conn:
                return (
                    await candidates(conn, "vip", "m"),
                    await candidates(conn, "default", "m"),
                    await candidates(conn, "default", "n"),
                )
        finally:
            await engine.dispose()

    vip, default, none = asyncio.run(read())
    assert vip == [(high, 5), (low, 1)]
    assert default == [(low, 1)]
    assert none == []
