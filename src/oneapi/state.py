"""What one worker process holds for its lifetime; reachable from handlers as `request.app.state.oneapi`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from oneapi.config import Settings
from oneapi.db.engine import Database
from oneapi.services.options import OptionStore

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from oneapi.cache.ratelimit import RateLimits
    from oneapi.relay.runtime import RelayRuntime


@dataclass
class AppState:
    settings: Settings
    db: Database
    options: OptionStore
    session_secret: str
    start_time: int
    background: list[object] = field(default_factory=list)
    relay: RelayRuntime = field(default=None)  # type: ignore[assignment]  # set at start-up
    rate_limits: RateLimits = field(default=None)  # type: ignore[assignment]  # set at start-up
    redis: Redis | None = None  # the REDIS_CONN_STRING client, when configured
