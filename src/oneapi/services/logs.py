"""Reading and pruning the logs table (SPEC §1.3 Logs, §2.5): filters, pages, quota sums, DTOs.

Log queries run on the logs engine, which may be a database of its own (LOG_SQL_DSN); channel
names come from the main database in one extra query per page, never through a join.
Provisional rows (type 6, the fork's) are never listed nor summed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import channels, logs
from oneapi.services.roles import LOG_CONSUME

LOG_PROVISIONAL = 6
# sort parameter → column (the fork's whitelist; `created_time` is an alias of created_at)
SORTABLE = {
    "id": "id",
    "created_time": "created_at",
    "created_at": "created_at",
    "prompt_tokens": "prompt_tokens",
    "completion_tokens": "completion_tokens",
    "quota": "quota",
    "elapsed_time": "elapsed_time",
}
MAX_SORTED_RANGE = 30 * 86400
SORTED_RANGE_TOO_LONG = "Date range for sorting cannot exceed 30 days"


class LogError(ValueError):
    """A log request that cannot be carried out; the message is shown to the caller."""


@dataclass(frozen=True)
class LogFilters:
    """What a log list or sum is narrowed to; zero or empty means "any"."""

    type: int = 0
    model_name: str = ""
    username: str = ""
    token_name: str = ""
    channel: int = 0
    start: int = 0  # created_at >= start (Unix seconds)
    end: int = 0  # created_at <= end
    user_id: int | None = None  # self views: forced to the caller
    token_id: int | None = None  # a key's views: its rows (by name on rows written without token_id)
    keyword: str | None = None  # search: content contains it


_ANY_PROVISIONAL = select(logs.c.id).where(logs.c.type == LOG_PROVISIONAL).limit(1)


def _conditions(f: LogFilters, provisional: bool = False) -> list[ColumnElement[bool]]:
    """WHERE clauses for `f`; `provisional`: some rows are provisional and must be left out."""
    where: list[ColumnElement[bool]] = []
    if f.type:
        where.append(logs.c.type == f.type)
    elif provisional:
        where.append(logs.c.type != LOG_PROVISIONAL)
    if f.user_id is not None:
        where.append(logs.c.user_id == f.user_id)
    if f.username:
        where.append(logs.c.username == f.username)
    if f.token_id is not None:
        by_name = and_(logs.c.token_id.is_(None), logs.c.token_name == f.token_name)
        where.append(or_(logs.c.token_id == f.token_id, by_name))
    elif f.token_name:
        where.append(logs.c.token_name == f.token_name)
    if f.model_name:
        where.append(logs.c.model_name == f.model_name)
    if f.channel:
        where.append(logs.c.channel_id == f.channel)
    if f.start:
        where.append(logs.c.created_at >= f.start)
    if f.end:
        where.append(logs.c.created_at <= f.end)
    if f.keyword:
        where.append(logs.c.content.contains(f.keyword, autoescape=True))
    return where


def order_by(sort: str, direction: str, f: LogFilters) -> list[ColumnElement[Any]]:
    """ORDER BY for `sort`/`order`; LogError when sorting a time range wider than 30 days."""
    if sort and f.start > 0 and f.end > 0 and f.end - f.start > MAX_SORTED_RANGE:
        raise LogError(SORTED_RANGE_TOO_LONG)
    name = SORTABLE.get(sort)
    if name is None or name == "id":
        return [logs.c.id.asc() if name and direction == "asc" else logs.c.id.desc()]
    column = logs.c[name]
    if direction == "asc":
        return [column.asc(), logs.c.id.asc()]
    return [column.desc(), logs.c.id.desc()]


async def list_logs(
    engine: AsyncEngine,
    f: LogFilters,
    order: Sequence[ColumnElement[Any]],
    offset: int,
    limit: int,
) -> tuple[list[RowMapping], int]:
    """One page of matching rows and the number of all matching rows."""
    async with engine.connect() as conn:
        # Excluding provisional rows only when there are any keeps counts on narrow indexes.
        provisional = not f.type and (await conn.execute(_ANY_PROVISIONAL)).first() is not None
        where = _conditions(f, provisional)
        page = select(logs).where(*where).order_by(*order).offset(offset).limit(limit)
        count = select(func.count()).select_from(logs).where(*where)
        rows = list((await conn.execute(page)).mappings().all())
        total = int((await conn.execute(count)).scalar_one())
    return rows, total


async def sum_quota(engine: AsyncEngine, f: LogFilters) -> int:
    """Quota of the consume rows matching `f` (its type is ignored: sums are over consume rows)."""
    where = _conditions(replace(f, type=LOG_CONSUME))
    async with engine.connect() as conn:
        total = (await conn.execute(select(func.sum(logs.c.quota)).where(*where))).scalar()
    return int(total or 0)


async def delete_before(engine: AsyncEngine, timestamp: int) -> int:
    """Delete every row created before `timestamp`; returns how many went."""
    async with engine.begin() as conn:
        result = await conn.execute(delete(logs).where(logs.c.created_at < timestamp))
    return int(result.rowcount or 0)


async def channel_names(engine: AsyncEngine, rows: Sequence[Mapping[Any, Any]]) -> dict[int, str]:
    """Names of the channels the rows mention, in one query on the main database."""
    ids = {row["channel_id"] for row in rows if row["channel_id"]}
    if not ids:
        return {}
    async with engine.connect() as conn:
        found = await conn.execute(select(channels.c.id, channels.c.name).where(channels.c.id.in_(ids)))
        return {cid: name or "" for cid, name in found.all()}


def _metadata(text: str | None) -> Any:
    if not text:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    return value or None


def log_dto(row: Mapping[Any, Any], names: Mapping[int, str]) -> dict[str, Any]:
    """What the API shows of a log row: One API's fields, `channel` being the channel id (U)."""
    channel_id = row["channel_id"] or 0
    dto = {
        "id": row["id"],
        "user_id": row["user_id"] or 0,
        "created_at": row["created_at"] or 0,
        "type": row["type"] or 0,
        "content": row["content"] or "",
        "username": row["username"] or "",
        "token_name": row["token_name"] or "",
        "model_name": row["model_name"] or "",
        "origin_model_name": row["origin_model_name"] or "",
        "quota": row["quota"] or 0,
        "prompt_tokens": row["prompt_tokens"] or 0,
        "completion_tokens": row["completion_tokens"] or 0,
        "cached_prompt_tokens": row["cached_prompt_tokens"] or 0,
        "channel": channel_id,
        "channel_id": channel_id,
        "channel_name": names.get(channel_id, ""),
        "request_id": row["request_id"] or "",
        "trace_id": row["trace_id"] or "",
        "elapsed_time": row["elapsed_time"] or 0,
        "is_stream": bool(row["is_stream"]),
        "system_prompt_reset": bool(row["system_prompt_reset"]),
    }
    metadata = _metadata(row["metadata"])
    if metadata is not None:
        dto["metadata"] = metadata
    return dto


async def log_page(
    logs_engine: AsyncEngine,
    main_engine: AsyncEngine,
    f: LogFilters,
    order: Sequence[ColumnElement[Any]],
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of DTOs and the total, channel names read from the main database."""
    rows, total = await list_logs(logs_engine, f, order, offset, limit)
    names = await channel_names(main_engine, rows)
    return [log_dto(row, names) for row in rows], total
