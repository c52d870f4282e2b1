"""Our gateway set up as an operator would, and its books checked after the load.

Set-up over the management API: root logs in and creates one OpenAI channel per lane pointing
at the fake upstream; a common user gets a quota and makes a limited relay key (so token and
user quota are both debited). Verification reads the SQLite file: one consume log per request
the gateway relayed, and the quota taken from the user and the key equals the logged quota.
"""

from __future__ import annotations

import http.cookiejar
import json
import sqlite3
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lanes import LANES

USER = "bench"
PASSWORD = "bench-password-1"
TOKEN_NAME = "bench"
QUOTA = 10**13


class Client:
    """A tiny cookie-keeping JSON client for One API's `{success, message, data}` envelope."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with self.opener.open(req, timeout=30) as resp:
            reply = json.loads(resp.read())
        if not reply.get("success"):
            raise RuntimeError(f"{method} {path} failed: {reply}")
        return reply.get("data")


def set_up(base: str, upstream: str, tag: str = "ours") -> str:
    """Channels (reaching the fake under `/via/<tag>`), user and key; returns the relay key."""
    root = Client(base)
    root.call("POST", "/api/user/login", {"username": "root", "password": "123456"})
    for lane, (lane_prefix, model) in LANES.items():
        root.call(
            "POST",
            "/api/channel/",
            {
                "name": f"bench-{lane}",
                "type": 1,
                "key": "upstream-key",
                "base_url": f"{upstream}{lane_prefix}/via/{tag}",
                "models": model,
                "group": "default",
            },
        )
    root.call("POST", "/api/user/", {"username": USER, "password": PASSWORD, "quota": QUOTA})
    user = Client(base)
    user.call("POST", "/api/user/login", {"username": USER, "password": PASSWORD})
    token = user.call(
        "POST", "/api/token/", {"name": TOKEN_NAME, "remain_quota": QUOTA, "unlimited_quota": False}
    )
    return str(token["key"])


@dataclass
class Books:
    logs: int
    logged_quota: int
    user_debit: int
    user_used: int
    user_requests: int
    token_debit: int
    token_used: int


def read_books(db: Path) -> Books:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        logs, logged = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(quota), 0) FROM logs WHERE type = 2"
        ).fetchone()
        quota, used, requests = conn.execute(
            "SELECT quota, used_quota, request_count FROM users WHERE username = ?", (USER,)
        ).fetchone()
        remain, token_used = conn.execute(
            "SELECT remain_quota, used_quota FROM tokens WHERE name = ?", (TOKEN_NAME,)
        ).fetchone()
    return Books(logs, logged, QUOTA - quota, used, requests, QUOTA - remain, token_used)


def verify(db: Path, relayed: int, client_sent: int, client_completed: int) -> dict[str, Any]:
    """Wait for the batched writer to land everything, then compare the books with the traffic."""
    deadline = time.monotonic() + 60
    books = read_books(db)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        again = read_books(db)
        if again == books and again.logs >= relayed:
            break
        books = again
    checks = {
        "consume logs == requests relayed to the upstream": books.logs == relayed,
        "requests completed <= consume logs <= requests sent": client_completed <= books.logs <= client_sent,
        "user quota debit == sum of logged quota": books.user_debit == books.logged_quota,
        "user used_quota == sum of logged quota": books.user_used == books.logged_quota,
        "token quota debit == sum of logged quota": books.token_debit == books.logged_quota,
        "user request_count == consume logs": books.user_requests == books.logs,
    }
    return {
        "requests_relayed_upstream": relayed,
        "client_sent": client_sent,
        "client_completed": client_completed,
        **books.__dict__,
        "checks": checks,
        "ok": all(checks.values()),
    }
