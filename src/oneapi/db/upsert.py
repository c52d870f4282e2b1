"""INSERT … ON CONFLICT UPDATE across SQLite, PostgreSQL and MySQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection


async def upsert(
    conn: AsyncConnection,
    table: Table,
    values: dict[str, Any],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert `values`, or update the `update` columns of the row that has the same `keys`."""
    dialect = conn.dialect.name
    if dialect == "mysql":
        my = mysql_insert(table).values(**values)
        await conn.execute(my.on_duplicate_key_update({c: my.inserted[c] for c in update}))
        return
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table).values(**values)
    await conn.execute(
        stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update})
    )
