"""log_daily_stats: consume totals per UTC day, user and model, so the dashboard never scans logs.

Each total is kept twice: under its user, and under user_id 0 (no user has that id) for the
whole site, so a site-wide year is 365 × models rows to read, however many users there are.
Every consume row is counted exactly once, whoever wrote it:
- the billing writer inserts its rows with `rolled_up = 1` and adds their totals in the same
  transaction (`add_written`);
- rows another program wrote (One API itself, before or beside us) have `rolled_up` NULL. The
  migration that creates the table rolls up the history it finds (`roll_up_all`), and the
  dashboard catches up on any newer ones first (`catch_up`). A batch claims its rows with a
  marker of its own before summing them, so two processes catching up at once never count a row
  twice.
Deleting old logs (`DELETE /api/log/`) leaves the totals alone: the dashboard keeps its history.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, func, literal_column, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from oneapi.db.tables import log_daily_stats, logs
from oneapi.services.roles import LOG_CONSUME

DAY = 86400
ROLLED_UP = 1
BATCH_IDS = 20_000  # log ids per catch-up transaction
SUMS = ("request_count", "quota", "prompt_tokens", "completion_tokens", "cached_prompt_tokens")

SITE = 0  # user_id of the site-wide totals
Key = tuple[int, int, str]  # (day, user_id, model_name)


def day_of(timestamp: int) -> int:
    """00:00 UTC of the day holding `timestamp` (Unix seconds)."""
    return timestamp - timestamp % DAY


def totals_of(rows: Iterable[Mapping[str, Any]]) -> dict[Key, list[int]]:
    """The consume rows among `rows`, summed per (day, user, model) in the order of SUMS."""
    totals: dict[Key, list[int]] = {}
    for row in rows:
        if row.get("type") != LOG_CONSUME:
            continue
        key = (day_of(row.get("created_at") or 0), row.get("user_id") or 0, row.get("model_name") or "")
        t = totals.setdefault(key, [0, 0, 0, 0, 0])
        t[0] += 1
        t[1] += row.get("quota") or 0
        t[2] += row.get("prompt_tokens") or 0
        t[3] += row.get("completion_tokens") or 0
        t[4] += row.get("cached_prompt_tokens") or 0
    return totals


def with_site(per_user: Mapping[Key, list[int]]) -> dict[Key, list[int]]:
    """`per_user` plus its site-wide sums per (day, model); a row without a user counts only there."""
    totals: dict[Key, list[int]] = {}
    for (day, user, model), sums in per_user.items():
        site = totals.setdefault((day, SITE, model), [0, 0, 0, 0, 0])
        for i, value in enumerate(sums):
            site[i] += value
        if user != SITE:
            totals[(day, user, model)] = list(sums)
    return totals


@functools.cache
def _add_statement(dialect: str) -> Executable:
    """INSERT … ON CONFLICT that adds a row's sums to the stored ones (run with many rows)."""
    table = log_daily_stats
    if dialect == "mysql":
        my = mysql_insert(table)
        return my.on_duplicate_key_update({c: table.c[c] + my.inserted[c] for c in SUMS})
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    return ins.on_conflict_do_update(
        index_elements=["day", "user_id", "model_name"],
        set_={c: table.c[c] + ins.excluded[c] for c in SUMS},
    )


def _params(totals: Mapping[Key, list[int]]) -> list[dict[str, Any]]:
    """One parameter set per key, in key order (so concurrent writers lock rows in one order)."""
    return [
        {"day": k[0], "user_id": k[1], "model_name": k[2], **dict(zip(SUMS, totals[k], strict=True))}
        for k in sorted(totals)
    ]


async def add_written(conn: AsyncConnection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Count the consume rows being inserted on `conn` (the billing writer's transaction)."""
    params = _params(with_site(totals_of(rows)))
    if params:
        await conn.execute(_add_statement(conn.dialect.name), params)


_FIRST_PENDING = select(func.min(logs.c.id)).where(logs.c.rolled_up.is_(None))


def roll_up_range(conn: Connection, low: int, high: int) -> None:
    """Claim the unrolled rows with ids in [low, high), add their consume totals, mark them done."""
    marker = -1 - secrets.randbelow(2**30)
    claim = (
        update(logs)
        .where(logs.c.rolled_up.is_(None), logs.c.id >= low, logs.c.id < high)
        .values(rolled_up=marker)
    )
    if conn.execute(claim).rowcount == 0:
        return
    # Constants are inlined so SELECT and GROUP BY hold the very same expression (PostgreSQL).
    created = func.coalesce(logs.c.created_at, literal_column("0"))
    day = created - created % literal_column(str(DAY))
    user_id = func.coalesce(logs.c.user_id, literal_column("0"))
    model = func.coalesce(logs.c.model_name, literal_column("''"))
    summed = conn.execute(
        select(
            day,
            user_id,
            model,
            func.count(),
            func.coalesce(func.sum(logs.c.quota), 0),
            func.coalesce(func.sum(logs.c.prompt_tokens), 0),
            func.coalesce(func.sum(logs.c.completion_tokens), 0),
            func.coalesce(func.sum(logs.c.cached_prompt_tokens), 0),
        )
        .where(logs.c.rolled_up == marker, logs.c.type == LOG_CONSUME)
        .group_by(day, user_id, model)
    ).all()
    totals = {(int(r[0]), int(r[1]), str(r[2])): [int(v) for v in r[3:]] for r in summed}
    if totals:
        conn.execute(_add_statement(conn.dialect.name), _params(with_site(totals)))
    conn.execute(update(logs).where(logs.c.rolled_up == marker).values(rolled_up=ROLLED_UP))


def roll_up_all(conn: Connection) -> None:
    """Roll up every pending row on `conn`, in batches, inside the caller's transaction (migration)."""
    while (low := conn.execute(_FIRST_PENDING).scalar()) is not None:
        roll_up_range(conn, low, low + BATCH_IDS)


async def catch_up(engine: AsyncEngine) -> None:
    """Roll up rows other programs wrote since the last time; one short transaction per batch."""
    while True:
        async with engine.connect() as conn:
            low = (await conn.execute(_FIRST_PENDING)).scalar()
        if low is None:
            return
        async with engine.begin() as conn:
            await conn.run_sync(roll_up_range, low, low + BATCH_IDS)
