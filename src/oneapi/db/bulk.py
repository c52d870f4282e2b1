"""Many rows into one table in one driver call, without SQLAlchemy's per-row parameter work.

The billing writer inserts one log row per relayed request. Through Core's executemany,
SQLAlchemy rebuilds each row's parameters (`construct_params`, bind processors) in Python: about
4% of a relay request's CPU in bench/ (README, round 3). The INSERT is compiled once per
dialect, table and column set here instead, and the driver gets plain tuples. Only for values
the drivers take as they are (int, str, bool, float, None); anything else keeps the Core path.
Rows with different column sets go in one statement per set (Core's executemany refuses them).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.schema import ScalarElementColumnDefault

_PLAIN = (int, str, float, type(None))  # bool is an int


@lru_cache(maxsize=64)
def _compiled(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> tuple[str, tuple[Any, ...]] | None:
    """(SQL, one entry per placeholder: a column name, or a 1-tuple holding a default value);
    None when the statement cannot be driven with plain positional values."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    order = compiled.positiontup
    if not order:
        return None
    slots: list[Any] = []
    for name in order:
        if name in columns:
            slots.append(name)
            continue
        column = table.c.get(name)
        default = column.default if column is not None else None
        value = getattr(default, "arg", None)
        if not isinstance(default, ScalarElementColumnDefault) or not isinstance(value, _PLAIN):
            return None
        slots.append((value,))  # a column with a Python default the rows leave out
    return compiled.string, tuple(slots)


async def insert_rows(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT every row of `rows` (dicts keyed by column name): one executemany per column set."""
    for columns, group in _by_columns(rows):
        plan = _compiled(conn.dialect, table, columns)
        if plan is None or not _plain(group):
            await conn.execute(insert(table), group)
            continue
        sql, slots = plan
        params = [tuple(row[s] if isinstance(s, str) else s[0] for s in slots) for row in group]
        await conn.exec_driver_sql(sql, params)


def _by_columns(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, ...], list[dict[str, Any]]]]:
    """The rows grouped by their column set (one group, in order, when all rows agree)."""
    if not rows:
        return []
    keys = rows[0].keys()
    if all(row.keys() == keys for row in rows):
        return [(tuple(keys), rows)]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.items())


def _plain(rows: list[dict[str, Any]]) -> bool:
    """Every value is one the drivers bind as it is."""
    return all(isinstance(value, _PLAIN) for row in rows for value in row.values())
