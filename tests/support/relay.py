"""Set-up for relay tests: a fake upstream, channels pointing at it, a user with a key."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.server import LiveServer


@dataclass
class RelaySetup:
    server: LiveServer
    root: Api
    user: Api
    key: str  # with sk- prefix
    db: sa.Engine

    @classmethod
    def for_new_user(
        cls, server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, quota: int
    ) -> RelaySetup:
        """A user "alice" with `quota` and an unlimited key: the usual start of a relay test."""
        setup = cls(server=server, root=root, user=make_user("alice", quota=quota), key="", db=db)
        setup.key = setup.make_key()
        return setup

    def client(self, key: str | None = None, max_retries: int = 0) -> openai.OpenAI:
        return openai.OpenAI(
            api_key=key or self.key, base_url=self.server.url + "/v1", max_retries=max_retries, timeout=30
        )

    def add_channel(self, upstream: FakeOpenAI, **fields: Any) -> int:
        body = {
            "name": fields.pop("name", "fake"),
            "type": fields.pop("type", 1),
            "key": "upstream-key",
            "base_url": upstream.url,
            "models": "gpt-4o-mini,gpt-4o,text-embedding-3-small,"
            "text-moderation-stable,gpt-3.5-turbo-instruct",
            "group": "default",
            **fields,
        }
        created = self.root.post("/api/channel/", json=body)
        assert created["success"], created
        found = self.root.get("/api/channel/search", params={"keyword": body["name"]})["data"]
        return int(max(c["id"] for c in found if c["name"] == body["name"]))

    def make_key(self, **fields: Any) -> str:
        body = {"name": fields.pop("name", "k"), "remain_quota": 0, "unlimited_quota": True, **fields}
        created = self.user.post("/api/token/", json=body)
        assert created["success"], created
        return str(created["data"]["key"])

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.db.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def wait_flushed(self, expected_logs: int, timeout: float = 10) -> None:
        """Billing writes land asynchronously: wait until `expected_logs` consume rows exist."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.scalar("SELECT COUNT(*) FROM logs WHERE type = 2") >= expected_logs:
                time.sleep(0.1)  # let the same flush's quota updates commit
                return
            time.sleep(0.05)
        raise AssertionError(
            f"expected {expected_logs} consume logs, found "
            f"{self.scalar('SELECT COUNT(*) FROM logs WHERE type = 2')}"
        )
