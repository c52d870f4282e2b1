"""Log listing, sums and the dashboard on a million log rows in SQLite (not part of the test run).

    .venv/bin/python -m tests.perf.logs_scale [rows] [--keep FILE]

Builds the schema the migrations make (every index included), fills `logs` with executemany,
then times the services the routes call: median of 5 runs after one warm-up, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from oneapi.db.tables import log_daily_stats, log_metadata, logs, metadata
from oneapi.services import logs as service
from oneapi.services.dashboard import Days, dashboard
from oneapi.services.log_rollup import roll_up_all
from oneapi.services.logs import LogFilters

DAY = 86400
USERS, MODELS, CHANNELS, DAYS = 1000, 50, 20, 90
TOKEN_NAMES = ("default", "app", "test")  # every user has keys of these names
MODELS_PER_USER = 3
NOW = 1_760_000_000 - 1_760_000_000 % DAY


def build(file: Path, rows: int) -> None:
    engine = sa.create_engine(f"sqlite:///{file}")
    metadata.create_all(engine)
    log_metadata.create_all(engine)
    rng = random.Random(7)
    started = time.perf_counter()
    with engine.begin() as conn:
        batch: list[dict[str, Any]] = []
        for i in range(rows):
            user = rng.randrange(USERS)
            token = rng.randrange(len(TOKEN_NAMES))
            batch.append(
                {
                    "user_id": user + 1,
                    "created_at": NOW - DAYS * DAY + (i * DAYS * DAY) // rows,
                    "type": 2 if rng.random() < 0.95 else rng.choice((1, 3, 4, 5)),
                    "content": f"model rate 1.00, group rate 1.00, completion rate 2.00, req {i}",
                    "username": f"user{user}",
                    "token_name": TOKEN_NAMES[token],
                    "token_id": user * len(TOKEN_NAMES) + token + 1,
                    "model_name": f"model-{(user * 7 + rng.randrange(MODELS_PER_USER)) % MODELS}",
                    "quota": rng.randrange(1, 5000),
                    "prompt_tokens": rng.randrange(1, 4000),
                    "completion_tokens": rng.randrange(1, 1000),
                    "channel_id": rng.randrange(CHANNELS) + 1,
                    "request_id": f"{i:023d}",
                    "elapsed_time": rng.randrange(50, 20000),
                    "is_stream": rng.random() < 0.5,
                }
            )
            if len(batch) == 50_000:
                conn.execute(sa.insert(logs), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(logs), batch)
    print(f"built {rows} rows in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with engine.begin() as conn:
        roll_up_all(conn)
        stats = conn.execute(sa.select(sa.func.count()).select_from(log_daily_stats)).scalar()
    print(f"rolled up {rows} rows into {stats} daily rows in {time.perf_counter() - started:.1f} s")
    engine.dispose()


async def timed(name: str, call: Callable[[], Awaitable[Any]]) -> None:
    await call()
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        await call()
        runs.append((time.perf_counter() - started) * 1000)
    print(f"{name:<58} {statistics.median(runs):8.1f} ms")


async def measure(file: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{file}")
    try:
        await _measure(engine)
    finally:
        await engine.dispose()


async def _measure(engine: AsyncEngine) -> None:
    newest = service.order_by("", "desc", LogFilters())
    week = LogFilters(start=NOW - 7 * DAY, end=NOW)

    def page(f: LogFilters, offset: int = 0, order: Any = newest) -> Callable[[], Awaitable[Any]]:
        return lambda: service.list_logs(engine, f, order, offset, 10)

    def stat(f: LogFilters) -> Callable[[], Awaitable[Any]]:
        return lambda: service.sum_quota(engine, f)

    by_quota = week
    cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("admin list, page 0 (+ total)", page(LogFilters())),
        ("admin list, page 500", page(LogFilters(), offset=5000)),
        ("admin list, type=2", page(LogFilters(type=2))),
        ("admin list, username", page(LogFilters(username="user17"))),
        ("admin list, model_name", page(LogFilters(model_name="model-3"))),
        ("admin list, token_name", page(LogFilters(token_name="app"))),
        ("admin list, channel", page(LogFilters(channel=5))),
        ("admin list, last day", page(LogFilters(start=NOW - DAY, end=NOW))),
        (
            "admin list, last 7 days sorted by quota",
            page(by_quota, order=service.order_by("quota", "desc", by_quota)),
        ),
        ("self list (user_id)", page(LogFilters(user_id=18))),
        ("self list, last 7 days", page(replace(week, user_id=18))),
        (
            "token logs (user_id + token)",
            page(LogFilters(user_id=18, token_id=17 * 3 + 2, token_name="app")),
        ),
        ("admin search content LIKE %kw% (+ total)", page(LogFilters(keyword="req 99999"))),
        ("stat, everything", stat(LogFilters())),
        ("stat, last 7 days", stat(week)),
        ("stat, last day", stat(LogFilters(start=NOW - DAY, end=NOW))),
        ("stat, username", stat(LogFilters(username="user17"))),
        ("self stat (user_id)", stat(LogFilters(user_id=18))),
        ("self stat, last 7 days", stat(replace(week, user_id=18))),
    ]
    for name, call in cases:
        await timed(name, call)
    days = Days(first=_date(NOW - 7 * DAY), last=_date(NOW - DAY))
    year = Days(first=_date(NOW - 365 * DAY), last=_date(NOW - DAY))
    await timed("dashboard, one user, 7 days (roll-up)", lambda: dashboard(engine, 18, days))
    await timed("dashboard, site-wide, 7 days", lambda: dashboard(engine, None, days))
    await timed("dashboard, site-wide, 365 days", lambda: dashboard(engine, None, year))


def _date(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="reuse (or build into) this SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        file = args.keep or Path(tmp) / "logs.db"
        if not file.exists():
            build(file, args.rows)
        asyncio.run(measure(file))


if __name__ == "__main__":
    main()
