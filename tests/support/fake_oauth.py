"""Fake identity providers on loopback: GitHub (token + user), an OIDC provider, Cloudflare Turnstile.

A real aiohttp server records each token/siteverify request's content type and form fields, so tests
can check that the gateway sends form-encoded bodies with the right fields.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

GOOD_TURNSTILE = "good-turnstile-token"


@dataclass
class FormRequest:
    path: str
    content_type: str
    form: dict[str, str]


@dataclass
class FakeOAuth:
    """`github_users` / `oidc_users` map an authorization code to the profile the provider returns."""

    github_users: dict[str, dict[str, Any]] = field(default_factory=dict)
    oidc_users: dict[str, dict[str, Any]] = field(default_factory=dict)
    forms: list[FormRequest] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeOAuth:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake identity provider did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def forms_to(self, path: str) -> list[FormRequest]:
        return [f for f in self.forms if f.path == path]

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/login/oauth/access_token", self._github_token)
        app.router.add_get("/user", self._github_user)
        app.router.add_get("/oidc/.well-known/openid-configuration", self._well_known)
        app.router.add_post("/oidc/token", self._oidc_token)
        app.router.add_get("/oidc/userinfo", self._oidc_userinfo)
        app.router.add_post("/turnstile/siteverify", self._siteverify)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self._loop.run_forever()

    async def _record(self, request: web.Request) -> dict[str, str]:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.forms.append(FormRequest(request.path, request.content_type, form))
        return form

    async def _github_token(self, request: web.Request) -> web.Response:
        form = await self._record(request)
        if form.get("code") not in self.github_users:
            return web.json_response({"error": "bad_verification_code"})
        return web.json_response({"access_token": "gh-" + form["code"], "token_type": "bearer"})

    async def _github_user(self, request: web.Request) -> web.Response:
        code = request.headers.get("Authorization", "").removeprefix("Bearer gh-")
        if code not in self.github_users:
            return web.json_response({"message": "Bad credentials"}, status=401)
        return web.json_response(self.github_users[code])

    async def _well_known(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": f"{self.url}/oidc",
                "authorization_endpoint": f"{self.url}/oidc/authorize",
                "token_endpoint": f"{self.url}/oidc/token",
                "userinfo_endpoint": f"{self.url}/oidc/userinfo",
            }
        )

    async def _oidc_token(self, request: web.Request) -> web.Response:
        form = await self._record(request)
        if form.get("code") not in self.oidc_users:
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response({"access_token": "oidc-" + form["code"], "token_type": "Bearer"})

    async def _oidc_userinfo(self, request: web.Request) -> web.Response:
        code = request.headers.get("Authorization", "").removeprefix("Bearer oidc-")
        if code not in self.oidc_users:
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response(self.oidc_users[code])

    async def _siteverify(self, request: web.Request) -> web.Response:
        form = await self._record(request)
        return web.json_response({"success": form.get("response") == GOOD_TURNSTILE})
