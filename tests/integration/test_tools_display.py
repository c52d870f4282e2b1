"""GET /api/tools/display keeps the fork's shape (empty: no tools here); the new routes are documented."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.client import Api


@pytest.fixture
def backend() -> str:
    """The catalogue reads no table: one backend is enough."""
    return "sqlite"


def test_tools_display_is_public_and_lists_no_tool_servers(anon: Api, make_user: Callable[..., Api]) -> None:
    answer = anon.http.get("/api/tools/display")
    assert answer.status_code == 200
    assert answer.json() == {"success": True, "message": "", "data": []}
    assert make_user("toolfan").get("/api/tools/display") == {"success": True, "message": "", "data": []}


def test_tool_and_sign_in_routes_are_documented_with_their_auth_level(anon: Api) -> None:
    paths = anon.get("/api/openapi.json")["paths"]
    levels = {
        path: paths[path]["get"]["x-auth-level"]
        for path in ("/api/tools/display", "/api/oauth/lark", "/api/oauth/wechat", "/api/oauth/wechat/bind")
    }
    assert levels == {
        "/api/tools/display": "public",
        "/api/oauth/lark": "public",
        "/api/oauth/wechat": "public",
        "/api/oauth/wechat/bind": "user",
    }
