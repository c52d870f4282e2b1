"""/api/admin/tokens/*: admins read any lower-role user's keys; only root sees every key."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.client import Api


def test_admin_views_follow_roles(root: Api, make_user: Callable[..., Api]) -> None:
    alice = make_user("alice")
    boss = make_user("boss", role=10)
    assert alice.post("/api/token/", json={"name": "alice-key"})["success"]
    assert boss.post("/api/token/", json={"name": "boss-key"})["success"]
    assert root.post("/api/token/", json={"name": "root-key"})["success"]

    seen_by_admin = {t["name"] for t in boss.get("/api/admin/tokens/")["data"]}
    assert seen_by_admin == {"alice-key"}
    seen_by_root = {t["name"] for t in root.get("/api/admin/tokens/")["data"]}
    assert seen_by_root == {"alice-key", "boss-key", "root-key"}

    alice_id = alice.get("/api/user/self")["data"]["id"]
    only_alice = root.get("/api/admin/tokens/", params={"user_id": alice_id})
    assert [t["name"] for t in only_alice["data"]] == ["alice-key"] and only_alice["total"] == 1
    assert [t["name"] for t in root.get("/api/admin/tokens/search", params={"keyword": "boss"})["data"]] == [
        "boss-key"
    ]

    root_token = next(t for t in root.get("/api/admin/tokens/")["data"] if t["name"] == "root-key")
    assert boss.get(f"/api/admin/tokens/{root_token['id']}")["success"] is False
    fetched = root.get(f"/api/admin/tokens/{root_token['id']}")["data"]
    assert fetched["key"].startswith("sk-") and len(fetched["key"]) == 51

    assert alice.http.get("/api/admin/tokens/").status_code == 403
    assert root.get("/api/admin/tokens/", params={"user_id": "x"})["success"] is False
