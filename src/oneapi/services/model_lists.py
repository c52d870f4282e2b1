"""Model-name lists of the console: per channel type, and per user group (SPEC §1.3)."""

from __future__ import annotations

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import abilities, channels
from oneapi.services.abilities import split_names
from oneapi.services.channel_types import models_by_type


async def models_per_type(engine: AsyncEngine) -> dict[int, list[str]]:
    """Type id → the type's known models, then the other models its channels are configured with."""
    by_type = models_by_type()
    async with engine.connect() as conn:
        rows = (await conn.execute(select(channels.c.type, channels.c.models).order_by(channels.c.id))).all()
    for type_id, models in rows:
        names = by_type.setdefault(int(type_id or 0), [])
        known = set(names)
        for name in split_names(models):
            if name not in known:
                known.add(name)
                names.append(name)
    return by_type


async def group_models(engine: AsyncEngine, group: str) -> list[str]:
    """The distinct models the enabled abilities of `group` serve, sorted by name."""
    stmt = (
        select(abilities.c.model)
        .where(abilities.c["group"] == group, abilities.c.enabled == true())
        .distinct()
    )
    async with engine.connect() as conn:
        return sorted(str(m) for m in (await conn.execute(stmt)).scalars())
