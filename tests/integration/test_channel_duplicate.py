"""POST /api/channel/{id}/duplicate: a copy with the same key and settings, routed like the original."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from tests.support.client import Api


def test_duplicate_copies_settings_key_and_abilities(root: Api, db: sa.Engine) -> None:
    body = {
        "name": "orig",
        "type": 1,
        "key": "secret-key",
        "models": "gpt-4o,gpt-4o-mini",
        "group": "default,vip",
        "priority": 5,
        "weight": 3,
        "model_mapping": '{"gpt-4o": "gpt-4.1"}',
        "system_prompt": "Be brief.",
    }
    assert root.post("/api/channel/", json=body)["success"]
    original = root.get("/api/channel/search", params={"keyword": "orig"})["data"][0]
    copy = root.post(f"/api/channel/{original['id']}/duplicate")
    assert copy["success"] is True, copy
    data = copy["data"]
    assert data["id"] != original["id"] and data["name"] == "orig (copy)"
    assert data["key"] == ""  # never returned
    for field in ("type", "models", "group", "priority", "weight", "model_mapping", "system_prompt"):
        assert data[field] == original[field], field
    with db.connect() as conn:
        key_col = '"key"' if db.dialect.name != "mysql" else "`key`"
        keys = conn.execute(sa.text(f"SELECT {key_col} FROM channels ORDER BY id")).scalars().all()
        abilities = conn.execute(
            sa.text("SELECT COUNT(*) FROM abilities WHERE channel_id = :i"), {"i": data["id"]}
        ).scalar()
    assert keys == ["secret-key", "secret-key"]
    assert abilities == 4  # 2 groups x 2 models


def test_duplicate_unknown_channel_and_roles(root: Api, make_user: Callable[..., Api]) -> None:
    assert root.post("/api/channel/999/duplicate")["success"] is False
    assert make_user("u1").http.post("/api/channel/1/duplicate").status_code == 403
