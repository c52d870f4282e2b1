"""The abilities table: One API's routing index of (group, model) → channel (SPEC §2.4).

A channel owns one ability row per group in its `group` × model in its `models`. The rows are
derived data: they are rebuilt inside the same transaction that writes the channel, so routing
never sees a channel without its rows or rows of a channel that is gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from oneapi.db.tables import abilities
from oneapi.services.roles import CHANNEL_ENABLED


def split_names(value: str | None) -> list[str]:
    """A comma list as names: trimmed, empties and repeats dropped, first-seen order kept."""
    names: dict[str, None] = {}
    for part in (value or "").split(","):
        name = part.strip()
        if name:
            names.setdefault(name, None)
    return list(names)


def ability_rows(channel: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ability rows of a channel (a mapping with id, group, models, status, priority)."""
    enabled = channel["status"] == CHANNEL_ENABLED
    priority = channel["priority"] or 0
    return [
        {
            "group": group,
            "model": model,
            "channel_id": channel["id"],
            "enabled": enabled,
            "priority": priority,
        }
        for group in split_names(channel["group"])
        for model in split_names(channel["models"])
    ]


async def delete_for(conn: AsyncConnection, channel_ids: Iterable[int]) -> None:
    """Remove every ability row of these channels."""
    ids = list(channel_ids)
    if ids:
        await conn.execute(delete(abilities).where(abilities.c.channel_id.in_(ids)))


async def rebuild(conn: AsyncConnection, channel: Mapping[str, Any]) -> None:
    """Replace a channel's ability rows with those its current row implies (call inside a transaction)."""
    await delete_for(conn, [channel["id"]])
    rows = ability_rows(channel)
    if rows:
        await conn.execute(insert(abilities), rows)


async def set_enabled(conn: AsyncConnection, channel_id: int, enabled: bool) -> None:
    """Switch all of a channel's rows on or off, as its status changes."""
    await conn.execute(update(abilities).where(abilities.c.channel_id == channel_id).values(enabled=enabled))


async def candidates(conn: AsyncConnection, group: str, model: str) -> list[tuple[int, int]]:
    """Enabled (channel_id, priority) rows that serve `model` to `group`, highest priority first."""
    stmt = (
        select(abilities.c.channel_id, abilities.c.priority)
        .where(
            abilities.c["group"] == group,
            abilities.c.model == model,
            abilities.c.enabled == true(),
        )
        .order_by(abilities.c.priority.desc(), abilities.c.channel_id)
    )
    return [(int(r.channel_id), int(r.priority or 0)) for r in (await conn.execute(stmt)).all()]
