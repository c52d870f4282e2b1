"""Reads of single user rows shared by authentication and the user services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import users


async def user_by(engine: AsyncEngine, **where: Any) -> RowMapping | None:
    """The first user row matching all of `where` (column=value), or None."""
    stmt = select(users)
    for column, value in where.items():
        stmt = stmt.where(users.c[column] == value)
    async with engine.connect() as conn:
        return (await conn.execute(stmt.limit(1))).mappings().first()
