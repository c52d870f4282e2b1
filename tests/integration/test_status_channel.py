"""GET /api/status/channel: public channel health without secrets."""

from __future__ import annotations

from tests.support.client import Api


def test_channel_health_is_public_paginated_and_keyless(root: Api, anon: Api) -> None:
    for name in ("a", "b", "c"):
        body = {
            "name": name,
            "type": 1,
            "key": f"secret-{name}",
            "base_url": "http://10.0.0.1:9",
            "models": "m",
        }
        assert root.post("/api/channel/", json=body)["success"]
    page = anon.get("/api/status/channel", params={"p": 0, "size": 2})
    assert page["success"] is True and page["total"] == 3
    assert [c["name"] for c in page["data"]] == ["a", "b"]
    assert set(page["data"][0]) == {"id", "name", "type", "status", "response_time", "test_time", "priority"}
    assert "secret" not in str(page) and "10.0.0.1" not in str(page)
    assert [c["name"] for c in anon.get("/api/status/channel", params={"p": 1, "size": 2})["data"]] == ["c"]
