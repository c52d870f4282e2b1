"""A token's or user's balance as it really stands: the database row plus the quota moves this
process has made that the billing writer has not written yet.

Read under the writer's lock, so a flush in progress is never counted twice or missed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from oneapi.db.tables import tokens, users
from oneapi.services.billing_writer import BillingWriter


async def live_token(writer: BillingWriter, token_id: int) -> dict[str, Any] | None:
    """The `tokens` row with remain_quota and used_quota brought up to date; None if it is gone."""
    async with writer.lock:
        async with writer.db.main.connect() as conn:
            row = (await conn.execute(select(tokens).where(tokens.c.id == token_id))).mappings().first()
        if row is None:
            return None
        delta = writer.ledger.unwritten_token(token_id)
    values = dict(row)
    values["remain_quota"] = int(row["remain_quota"] or 0) + delta.remain_quota
    values["used_quota"] = int(row["used_quota"] or 0) + delta.used_quota
    if delta.accessed_time:
        values["accessed_time"] = max(int(row["accessed_time"] or 0), delta.accessed_time)
    return values


async def live_user_quota(writer: BillingWriter, user_id: int) -> tuple[int, int]:
    """(quota, used_quota) of the user, brought up to date; (0, 0) if the user is gone."""
    async with writer.lock:
        async with writer.db.main.connect() as conn:
            row = (
                await conn.execute(select(users.c.quota, users.c.used_quota).where(users.c.id == user_id))
            ).first()
        if row is None:
            return 0, 0
        delta = writer.ledger.unwritten_user(user_id)
    return int(row[0] or 0) + delta.quota, int(row[1] or 0) + delta.used_quota
