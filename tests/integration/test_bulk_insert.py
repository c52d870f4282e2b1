"""db.bulk.insert_rows on each backend: the rows land as Core's insert would write them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from oneapi.config import Settings
from oneapi.db.bulk import insert_rows
from oneapi.db.engine import open_database
from oneapi.db.migrate import run_migrations
from oneapi.db.tables import logs


def _settings(env: dict[str, str]) -> Settings:
    return replace(Settings(), sql_dsn=env.get("SQL_DSN", ""), sqlite_path=env.get("SQLITE_PATH", ""))


def _row(n: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "user_id": 7,
        "created_at": 1_700_000_000 + n,
        "type": 2,
        "content": f"model rate 1.00 · row {n} · ünïcode",
        "username": "alice",
        "token_name": "k",
        "model_name": "gpt-4o-mini",
        "quota": 100 + n,
        "prompt_tokens": 20,
        "completion_tokens": n,
        "channel_id": 3,
        "request_id": f"req-{n}",
        "elapsed_time": 12,
        "is_stream": n % 2 == 1,
        "system_prompt_reset": False,
        "metadata": None,
        "rolled_up": 1,
    }
    row.update(changes)
    return row


def _insert(env: dict[str, str], batches: list[list[dict[str, Any]]]) -> None:
    async def run() -> None:
        db = open_database(_settings(env))
        try:
            await run_migrations(db)
            for rows in batches:
                async with db.logs.begin() as conn:
                    await insert_rows(conn, logs, rows)
        finally:
            await db.dispose()

    asyncio.run(run())


def _read(db: sa.Engine) -> list[dict[str, Any]]:
    with db.connect() as conn:
        result = conn.execute(sa.select(logs).order_by(logs.c.created_at))
        return [dict(r._mapping) for r in result]


def test_rows_land_with_their_values_and_python_defaults(
    database: tuple[dict[str, str], str], db: sa.Engine
) -> None:
    rows = [_row(n) for n in range(5)]
    _insert(database[0], [rows])
    stored = _read(db)
    assert len(stored) == 5
    for n, got in enumerate(stored):
        assert got["content"] == rows[n]["content"]
        assert got["quota"] == 100 + n and got["completion_tokens"] == n
        assert bool(got["is_stream"]) is (n % 2 == 1)
        assert got["request_id"] == f"req-{n}" and got["rolled_up"] == 1 and got["metadata"] is None
        # columns the rows leave out get the table's Python defaults, as through Core
        assert got["cached_prompt_tokens"] == 0 and got["origin_model_name"] == "" and got["trace_id"] == ""
        assert got["id"] is not None
    assert len({got["id"] for got in stored}) == 5


def test_rows_of_different_column_sets_each_go_in(
    database: tuple[dict[str, str], str], db: sa.Engine
) -> None:
    uneven = [_row(0), {k: v for k, v in _row(1).items() if k != "quota"}]
    _insert(database[0], [uneven, [_row(2)]])
    stored = _read(db)
    assert [r["request_id"] for r in stored] == ["req-0", "req-1", "req-2"]
    assert stored[1]["quota"] == 0  # the column's Python default, for the row without it
