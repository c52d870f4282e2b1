"""Fake Lark (Feishu) open platform and fake One API "WeChat server", real HTTP on loopback.

Lark: `POST /open-apis/authen/v2/oauth/token` takes a JSON body and answers an access token for a
known code; `GET /open-apis/authen/v1/user_info` answers `{"code": 0, "data": profile}` for it.
WeChat server: `GET /api/wechat/user?code=` with `Authorization: <token>` answers
`{"success", "message", "data": wechat id}`. Codes listed in `BROKEN` make either fake answer a
non-JSON 502, as a proxy in front of a dead provider would.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.support.threaded_server import ThreadedServer

BROKEN = "broken-code"
TOKEN_PATH = "/open-apis/authen/v2/oauth/token"
USERINFO_PATH = "/open-apis/authen/v1/user_info"


def _broken() -> web.Response:
    return web.Response(status=502, text="<html>bad gateway</html>", content_type="text/html")


class FakeLark(ThreadedServer):
    """`users` maps an authorization code to the profile user_info returns ({} = no open_id)."""

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, dict[str, Any]] = {}

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        _raw, body = await self._record(request)
        if request.method == "POST" and request.path == TOKEN_PATH:
            code = body.get("code") if isinstance(body, dict) else None
            if code == BROKEN:
                return _broken()
            if code not in self.users:
                error = {"code": 20003, "error": "invalid_grant", "error_description": "code is invalid"}
                return web.json_response(error, status=400)
            return web.json_response(
                {"code": 0, "access_token": f"lark-{code}", "token_type": "Bearer", "expires_in": 7200}
            )
        if request.method == "GET" and request.path == USERINFO_PATH:
            code = request.headers.get("Authorization", "").removeprefix("Bearer lark-")
            if code not in self.users:
                return web.json_response({"code": 99991663, "msg": "Invalid access token"}, status=401)
            return web.json_response({"code": 0, "msg": "success", "data": self.users[code]})
        return web.json_response({"code": 404, "msg": "not found"}, status=404)


class FakeWeChatServer(ThreadedServer):
    """`users` maps a code shown by the official account to a wechat id; `token` is the shared secret."""

    def __init__(self, token: str = "wechat-server-token") -> None:
        super().__init__()
        self.token = token
        self.users: dict[str, str] = {}

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        if request.path != "/api/wechat/user":
            return web.json_response({"success": False, "message": "not found"}, status=404)
        if request.headers.get("Authorization") != self.token:
            return web.json_response({"success": False, "message": "no permission: token is invalid"})
        code = request.query.get("code", "")
        if code == BROKEN:
            return _broken()
        if code not in self.users:
            return web.json_response({"success": False, "message": "wrong code, or it has expired"})
        return web.json_response({"success": True, "message": "", "data": self.users[code]})
