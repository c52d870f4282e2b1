"""The routing index: enabled channels by (group, model), rebuilt from the database.

Built at start, every SYNC_FREQUENCY seconds, and on demand after a channel write in this process
(`invalidate`), so selection never touches the database. Suspensions (429, 5xx, auth errors) are
kept here in memory with their expiry.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from oneapi.db.engine import Database
from oneapi.db.tables import abilities, channels
from oneapi.relay.channel import Channel
from oneapi.services.roles import CHANNEL_ENABLED


@dataclass(frozen=True)
class Candidate:
    channel: Channel
    priority: int


class ChannelDirectory:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._channels: dict[int, Channel] = {}
        self._index: dict[tuple[str, str], list[Candidate]] = {}
        self._suspended: dict[tuple[str, str, int], float] = {}
        self._stale = True
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """A channel changed: rebuild before the next selection."""
        self._stale = True

    async def reload(self) -> None:
        async with self._db.main.connect() as conn:
            channel_rows = (await conn.execute(select(channels))).mappings().all()
            ability_rows = (
                await conn.execute(
                    select(
                        abilities.c["group"], abilities.c.model, abilities.c.channel_id, abilities.c.priority
                    ).where(abilities.c.enabled.is_(True))
                )
            ).all()
        by_id = {int(r["id"]): Channel.from_row(r) for r in channel_rows}
        index: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
        for group, model, channel_id, priority in ability_rows:
            channel = by_id.get(int(channel_id))
            if channel is None or channel.status != CHANNEL_ENABLED:
                continue
            index[(group, model)].append(Candidate(channel, int(priority or 0)))
        for candidates in index.values():
            candidates.sort(key=lambda c: -c.priority)
        self._channels, self._index = by_id, dict(index)
        self._stale = False

    async def fresh(self) -> ChannelDirectory:
        """Self, rebuilt first if a write made it stale."""
        if self._stale:
            async with self._lock:
                if self._stale:
                    await self.reload()
        return self

    def channel(self, channel_id: int) -> Channel | None:
        return self._channels.get(channel_id)

    def candidates(self, group: str, model: str) -> list[Candidate]:
        """Enabled, unsuspended channels serving `model` for `group`, highest priority first."""
        found = self._index.get((group, model), [])
        if not self._suspended:
            return found
        now = time.monotonic()
        return [c for c in found if self._suspended.get((group, model, c.channel.id), 0) <= now]

    def models_for(self, group: str) -> list[str]:
        return sorted({model for (g, model) in self._index if g == group})

    def suspend(self, group: str, model: str, channel_id: int, seconds: float) -> None:
        if seconds > 0:
            self._suspended[(group, model, channel_id)] = time.monotonic() + seconds
