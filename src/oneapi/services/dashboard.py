"""GET /api/user/dashboard (SPEC §10.2): requests, quota and tokens per UTC day and model.

Read from the daily roll-up (log_daily_stats), never from the raw logs, after rolling up any
rows another program wrote since the last look. Days are whole UTC days, as in the fork.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import log_daily_stats
from oneapi.services.log_rollup import SITE, catch_up
from oneapi.services.roles import ROLE_ROOT
from oneapi.services.users_query import user_by

DEFAULT_DAYS = 7
MAX_DAYS = 7
MAX_DAYS_ROOT = 365
NOT_YOURS = "No permission to view other users' dashboard data"
BAD_USER = "Invalid user_id parameter"


class DashboardError(ValueError):
    """A dashboard request that cannot be answered; the message is shown to the caller."""


@dataclass(frozen=True)
class Days:
    """An inclusive range of whole UTC days."""

    first: date
    last: date

    @property
    def start(self) -> int:
        return _midnight(self.first)

    @property
    def end(self) -> int:
        """00:00 UTC of the last day (the roll-up is keyed by the start of each day)."""
        return _midnight(self.last)


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _parse(text: str, name: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise DashboardError(f"invalid {name} format, expected YYYY-MM-DD") from None


def days_of(from_date: str, to_date: str, role: int, today: date | None = None) -> Days:
    """The requested days; without both dates, the last 7 days up to today."""
    if not (from_date and to_date):
        last = today or datetime.now(UTC).date()
        return Days(first=last - timedelta(days=DEFAULT_DAYS - 1), last=last)
    first, last = _parse(from_date, "from_date"), _parse(to_date, "to_date")
    if last < first:
        raise DashboardError("from_date must be before to_date")
    limit = MAX_DAYS_ROOT if role >= ROLE_ROOT else MAX_DAYS
    if (last - first).days + 1 > limit:
        raise DashboardError(f"maximum allowed: {limit} days: date range too large")
    return Days(first=first, last=last)


async def target_of(main: AsyncEngine, caller_id: int, role: int, user_param: str) -> int | None:
    """Whose numbers: the caller's; root may name a user or `all`, and sees all by default."""
    if not user_param:
        return None if role >= ROLE_ROOT else caller_id
    if role < ROLE_ROOT:
        raise DashboardError(NOT_YOURS)
    if user_param == "all":
        return None
    try:
        user_id = int(user_param)
    except ValueError:
        raise DashboardError(BAD_USER) from None
    if await user_by(main, id=user_id) is None:
        raise DashboardError(BAD_USER)
    return user_id


async def dashboard(logs_engine: AsyncEngine, user_id: int | None, days: Days) -> list[dict[str, Any]]:
    """One entry per day and model, ordered by day then model, in One API's capitalised names."""
    await catch_up(logs_engine)
    t = log_daily_stats
    query = (
        select(
            t.c.day,
            t.c.model_name,
            func.sum(t.c.request_count),
            func.sum(t.c.quota),
            func.sum(t.c.prompt_tokens),
            func.sum(t.c.completion_tokens),
            func.sum(t.c.cached_prompt_tokens),
        )
        .where(t.c.day >= days.start, t.c.day <= days.end)
        .group_by(t.c.day, t.c.model_name)
        .order_by(t.c.day, t.c.model_name)
    )
    query = query.where(t.c.user_id == (SITE if user_id is None else user_id))
    async with logs_engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        {
            "Day": datetime.fromtimestamp(int(day), UTC).strftime("%Y-%m-%d"),
            "ModelName": model or "",
            "RequestCount": int(count or 0),
            "Quota": int(quota or 0),
            "PromptTokens": int(prompt or 0),
            "CompletionTokens": int(completion or 0),
            "CachedPromptTokens": int(cached or 0),
        }
        for day, model, count, quota, prompt, completion, cached in rows
    ]
