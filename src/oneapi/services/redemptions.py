"""Redemption codes and top-ups (SPEC §2.7, §10.1): code CRUD, redeem-once, admin credit.

A code is redeemed by a conditional UPDATE (`status = 1` → 3) whose row count decides the
winner, in the same transaction as the user's credit: racing requests on any backend (and on
any node) cannot both succeed. Balances are changed only by relative SQL updates, so the relay's
batched billing writes (also relative) compose with them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import logs, redemptions, users
from oneapi.services.keys import now_ms, now_s, uuid_hex
from oneapi.services.roles import LOG_TOPUP, REDEMPTION_DISABLED, REDEMPTION_ENABLED, REDEMPTION_USED

SORTABLE = (
    "id",
    "name",
    "status",
    "quota",
    "created_time",
    "redeemed_time",
    "created_at",
    "updated_at",
)
MAX_NAME_BYTES = 20
MAX_COUNT = 100
MAX_ID = 2**63 - 1
STATUSES = (REDEMPTION_ENABLED, REDEMPTION_DISABLED, REDEMPTION_USED)

NAME_REQUIRED = "Redemption name cannot be empty"
NAME_TOO_LONG = f"Redemption name is too long: at most {MAX_NAME_BYTES} bytes"
BAD_COUNT = f"Count must be between 1 and {MAX_COUNT}"
BAD_QUOTA = "Quota must be greater than 0"
BAD_STATUS = "status must be 1 (enabled), 2 (disabled) or 3 (used)"
NOT_FOUND = "Redemption code does not exist"
INVALID_CODE = "Invalid redemption code"
USED_CODE = "The redemption code has been used"
USER_MISSING = "User does not exist"
ZERO_TOPUP = "Top-up quota cannot be zero"
BELOW_ZERO = "The user's quota cannot go below zero"


class RedemptionError(ValueError):
    """A refused redemption or top-up request; the message is shown to the caller."""


def redemption_dto(row: RowMapping) -> dict[str, Any]:
    """What administrators see of a code, the key included (they hand it out)."""
    return {
        "id": row["id"],
        "user_id": row["user_id"] or 0,
        "key": row["key"] or "",
        "status": row["status"] or 0,
        "name": row["name"] or "",
        "quota": row["quota"] or 0,
        "created_time": row["created_time"] or 0,
        "redeemed_time": row["redeemed_time"] or 0,
        "created_at": row["created_at"] or 0,
        "updated_at": row["updated_at"] or 0,
    }


def quota_text(quota: int, in_currency: bool, quota_per_unit: float) -> str:
    """Quota as One API writes it in log text: dollars, or points when currency display is off."""
    if in_currency:
        return f"＄{quota / (quota_per_unit or 500000.0):.6f} quota"
    return f"{quota} point quota"


# code CRUD -------------------------------------------------------------------------------------
def _checked_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise RedemptionError(NAME_REQUIRED)
    if len(name.encode()) > MAX_NAME_BYTES:
        raise RedemptionError(NAME_TOO_LONG)
    return name


def _checked_quota(quota: int) -> int:
    if quota <= 0:
        raise RedemptionError(BAD_QUOTA)
    return quota


def _search_match(keyword: str) -> ColumnElement[bool]:
    keyword = keyword.strip()
    match: ColumnElement[bool] = redemptions.c.name.startswith(keyword, autoescape=True)
    if keyword.isdigit() and int(keyword) <= MAX_ID:
        match = or_(match, redemptions.c.id == int(keyword))
    return match


async def list_redemptions(
    engine: AsyncEngine,
    *,
    offset: int,
    limit: int,
    order: Sequence[ColumnElement[Any]],
    keyword: str | None = None,
) -> tuple[list[RowMapping], int]:
    """One page of codes (those matching `keyword` when given) and the unpaginated count."""
    where = [_search_match(keyword)] if keyword is not None else []
    async with engine.connect() as conn:
        stmt = select(redemptions).where(*where).order_by(*order).offset(offset).limit(limit)
        rows = list((await conn.execute(stmt)).mappings().all())
        count = select(func.count()).select_from(redemptions).where(*where)
        total = (await conn.execute(count)).scalar_one()
    return rows, int(total)


async def get_redemption(engine: AsyncEngine, redemption_id: int) -> RowMapping:
    if not 0 < redemption_id <= MAX_ID:
        raise RedemptionError(NOT_FOUND)
    async with engine.connect() as conn:
        stmt = select(redemptions).where(redemptions.c.id == redemption_id)
        row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        raise RedemptionError(NOT_FOUND)
    return row


async def create_redemptions(
    engine: AsyncEngine, creator_id: int, name: str, count: int, quota: int
) -> list[str]:
    """`count` new enabled codes sharing `name` and `quota`; returns their 32-char keys."""
    name = _checked_name(name)
    if not 1 <= count <= MAX_COUNT:
        raise RedemptionError(BAD_COUNT)
    quota = _checked_quota(quota)
    now, now_millis = now_s(), now_ms()
    keys = [uuid_hex() for _ in range(count)]
    rows = [
        {
            "user_id": creator_id,
            "key": key,
            "status": REDEMPTION_ENABLED,
            "name": name,
            "quota": quota,
            "created_time": now,
            "redeemed_time": 0,
            "created_at": now_millis,
            "updated_at": now_millis,
        }
        for key in keys
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(redemptions), rows)
    return keys


async def update_redemption(
    engine: AsyncEngine,
    redemption_id: int,
    *,
    name: str | None,
    quota: int | None,
    status: int | None,
    status_only: bool,
) -> RowMapping:
    """Status only, or name and quota (absent fields keep their value); returns the new row."""
    await get_redemption(engine, redemption_id)
    values: dict[str, Any] = {}
    if status_only:
        if status not in STATUSES:
            raise RedemptionError(BAD_STATUS)
        values["status"] = status
    else:
        if name is not None:
            values["name"] = _checked_name(name)
        if quota is not None:
            values["quota"] = _checked_quota(quota)
    if values:
        values["updated_at"] = now_ms()
        async with engine.begin() as conn:
            stmt = update(redemptions).where(redemptions.c.id == redemption_id).values(**values)
            await conn.execute(stmt)
    return await get_redemption(engine, redemption_id)


async def delete_redemption(engine: AsyncEngine, redemption_id: int) -> None:
    await get_redemption(engine, redemption_id)
    async with engine.begin() as conn:
        await conn.execute(delete(redemptions).where(redemptions.c.id == redemption_id))


# balances --------------------------------------------------------------------------------------
async def redeem(engine: AsyncEngine, key: str, user_id: int) -> int:
    """Mark the code used and credit its quota to the user, once; returns the quota credited."""
    key = key.strip()
    if not key or len(key) > 32:
        raise RedemptionError(INVALID_CODE)
    async with engine.connect() as conn:
        found = (await conn.execute(select(redemptions.c.id).where(redemptions.c.key == key))).first()
    if found is None:
        raise RedemptionError(INVALID_CODE)
    code_id = int(found[0])
    # The first statement of the transaction is the write: on SQLite it takes the write lock at
    # once (a read first could not be upgraded under contention), elsewhere it locks the row.
    async with engine.begin() as conn:
        claim = (
            update(redemptions)
            .where(redemptions.c.id == code_id, redemptions.c.status == REDEMPTION_ENABLED)
            .values(status=REDEMPTION_USED, redeemed_time=now_s(), updated_at=now_ms())
        )
        if (await conn.execute(claim)).rowcount != 1:
            raise RedemptionError(USED_CODE)
        quota = await conn.scalar(select(redemptions.c.quota).where(redemptions.c.id == code_id))
        quota = int(quota or 0)
        credit = update(users).where(users.c.id == user_id).values(quota=users.c.quota + quota)
        if (await conn.execute(credit)).rowcount != 1:
            raise RedemptionError(USER_MISSING)  # leaving the block rolls the claim back
    return quota


async def admin_topup(engine: AsyncEngine, user_id: int, quota: int, unwritten: int) -> tuple[str, int]:
    """Add `quota` (negative = debit) to a user; (username, new quota).

    `unwritten` is the relay's not-yet-written change to the balance (negative for spending): a
    debit is refused when it would take the real balance, database plus unwritten, below zero.
    """
    if quota == 0:
        raise RedemptionError(ZERO_TOPUP)
    if not 0 < user_id <= MAX_ID:
        raise RedemptionError(USER_MISSING)
    change = update(users).where(users.c.id == user_id).values(quota=users.c.quota + quota)
    if quota < 0:
        change = change.where(users.c.quota + unwritten + quota >= 0)
    async with engine.begin() as conn:  # the write first, for SQLite's lock (see `redeem`)
        changed = (await conn.execute(change)).rowcount == 1
        stmt = select(users.c.username, users.c.quota).where(users.c.id == user_id)
        row = (await conn.execute(stmt)).first()
    if row is None:
        raise RedemptionError(USER_MISSING)
    if not changed:
        raise RedemptionError(BELOW_ZERO)
    return row[0] or "", int(row[1] or 0) + unwritten


async def write_topup_log(
    logs_engine: AsyncEngine, user_id: int, username: str, quota: int, content: str
) -> None:
    row = {
        "user_id": user_id,
        "username": username,
        "created_at": now_s(),
        "type": LOG_TOPUP,
        "content": content,
        "quota": quota,
    }
    async with logs_engine.begin() as conn:
        await conn.execute(insert(logs).values(**row))


# failed-redeem limit ---------------------------------------------------------------------------
@dataclass
class FailureWindow:
    """At most `limit` failed attempts per user in `window` seconds (limit 0 = no limit), in memory."""

    limit: int
    window: float = 600.0

    def __post_init__(self) -> None:
        self._failures: dict[int, deque[float]] = {}

    def _recent(self, user_id: int) -> deque[float]:
        times = self._failures.setdefault(user_id, deque())
        horizon = time.monotonic() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        return times

    def blocked(self, user_id: int) -> bool:
        if self.limit <= 0:
            return False
        blocked = len(self._recent(user_id)) >= self.limit
        if not blocked and not self._failures[user_id]:
            del self._failures[user_id]
        return blocked

    def record(self, user_id: int) -> None:
        if self.limit > 0:
            self._recent(user_id).append(time.monotonic())
