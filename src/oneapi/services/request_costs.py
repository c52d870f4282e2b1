"""What one relay request cost (SPEC §2.8): the `user_request_costs` row of a request id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import user_request_costs

QUOTA_PER_USD = 500000


async def cost_of(engine: AsyncEngine, request_id: str) -> dict[str, Any] | None:
    """The cost record of `request_id` with its USD value; None if there is none."""
    stmt = select(user_request_costs).where(user_request_costs.c.request_id == request_id)
    async with engine.connect() as conn:
        row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        return None
    quota = int(row["quota"] or 0)
    return {
        "request_id": row["request_id"],
        "user_id": row["user_id"] or 0,
        "quota": quota,
        "cost_usd": quota / QUOTA_PER_USD,
        "created_time": row["created_time"] or 0,
        "created_at": row["created_at"] or 0,
        "updated_at": row["updated_at"] or 0,
    }
