"""HTTP helpers for management-API tests: log in, call, and unwrap One API's envelope."""

from __future__ import annotations

from typing import Any

import httpx


class Api:
    """An httpx client bound to the live server, optionally logged in."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.http = httpx.Client(base_url=base_url, headers=headers or {}, timeout=30)

    def login(self, username: str, password: str) -> dict[str, Any]:
        body = self.post("/api/user/login", json={"username": username, "password": password})
        assert body["success"], body
        return body

    def get(self, path: str, **kw: Any) -> Any:
        return self.http.get(path, **kw).json()

    def post(self, path: str, **kw: Any) -> Any:
        return self.http.post(path, **kw).json()

    def put(self, path: str, **kw: Any) -> Any:
        return self.http.put(path, **kw).json()

    def delete(self, path: str, **kw: Any) -> Any:
        return self.http.delete(path, **kw).json()

    def close(self) -> None:
        self.http.close()
