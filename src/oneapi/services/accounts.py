"""Cached token and user records for relay authentication: no database read on the success path.

Entries live SYNC_FREQUENCY seconds (One API's cache TTL) and are dropped at once when the
management API changes the row. Balances are not kept here but in the QuotaLedger, reloaded with
the record under the billing writer's lock so an in-progress flush is never counted twice.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from oneapi.db.engine import Database
from oneapi.db.tables import tokens, users
from oneapi.services.billing_writer import BillingWriter
from oneapi.services.ledger import QuotaLedger

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user_id: int
    name: str
    status: int
    expired_time: int
    unlimited: bool
    models: frozenset[str] | None  # None = any model
    subnet: str
    networks: tuple[Network, ...]

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> TokenInfo:
        models_raw = (row.get("models") or "").strip()
        models = frozenset(m.strip() for m in models_raw.split(",") if m.strip()) if models_raw else None
        subnet = (row.get("subnet") or "").strip()
        networks = []
        for part in subnet.split(","):
            if part.strip():
                try:
                    networks.append(ipaddress.ip_network(part.strip(), strict=False))
                except ValueError:
                    continue
        return cls(
            id=int(row["id"]),
            user_id=int(row["user_id"] or 0),
            name=row.get("name") or "",
            status=int(row.get("status") or 0),
            expired_time=int(row.get("expired_time") or -1),
            unlimited=bool(row.get("unlimited_quota")),
            models=models,
            subnet=subnet,
            networks=tuple(networks),
        )


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    group: str
    status: int
    role: int


class AccountCache:
    """Token-by-key and user-by-id records with a TTL; balances go to the ledger."""

    def __init__(self, db: Database, ledger: QuotaLedger, writer: BillingWriter, ttl: float) -> None:
        self._db = db
        self._ledger = ledger
        self._writer = writer
        self._ttl = max(1.0, ttl)
        self._tokens: dict[str, tuple[float, TokenInfo | None]] = {}
        self._users: dict[int, tuple[float, UserInfo | None]] = {}

    async def token(self, key: str) -> TokenInfo | None:
        hit = self._tokens.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        async with self._writer.lock:
            async with self._db.main.connect() as conn:
                row = (await conn.execute(select(tokens).where(tokens.c.key == key))).mappings().first()
            info = TokenInfo.from_row(row) if row is not None else None
            if info is not None and row is not None:
                self._ledger.load_token(info.id, int(row["remain_quota"] or 0))
        self._tokens[key] = (time.monotonic() + self._ttl, info)
        return info

    async def user(self, user_id: int) -> UserInfo | None:
        hit = self._users.get(user_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        async with self._writer.lock:
            async with self._db.main.connect() as conn:
                row = (await conn.execute(select(users).where(users.c.id == user_id))).mappings().first()
            info = None
            if row is not None:
                info = UserInfo(
                    id=user_id,
                    username=row["username"] or "",
                    group=row["group"] or "default",
                    status=int(row["status"] or 0),
                    role=int(row["role"] or 0),
                )
                self._ledger.load_user(user_id, int(row["quota"] or 0))
        self._users[user_id] = (time.monotonic() + self._ttl, info)
        return info

    def forget_token(self, key: str | None = None) -> None:
        """Drop one cached token (or all): the next request reads the row again."""
        if key is None:
            self._tokens.clear()
        else:
            self._tokens.pop(key, None)

    def forget_user(self, user_id: int | None = None) -> None:
        if user_id is None:
            self._users.clear()
        else:
            self._users.pop(user_id, None)

    async def set_token_status(self, token: TokenInfo, key: str, status: int) -> None:
        """Persist an expiry/exhaustion discovered at authentication, as One API does."""
        async with self._db.main.begin() as conn:
            await conn.execute(update(tokens).where(tokens.c.id == token.id).values(status=status))
        self.forget_token(key)
