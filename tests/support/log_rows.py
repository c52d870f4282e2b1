"""Seed log rows with plain SQL, as One API would have written them (no `rolled_up`, no token_id)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from oneapi.db.tables import logs

DEFAULTS: dict[str, Any] = {
    "user_id": 1,
    "created_at": 1_700_000_000,
    "type": 2,
    "content": "model rate 1.00, group rate 1.00, completion rate 1.00",
    "username": "root",
    "token_name": "default",
    "model_name": "gpt-4o-mini",
    "quota": 0,
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "cached_prompt_tokens": 0,
    "channel_id": 0,
    "request_id": "",
    "elapsed_time": 0,
    "is_stream": False,
    "system_prompt_reset": False,
}


def insert_logs(engine: sa.Engine, *rows: dict[str, Any]) -> list[int]:
    """Insert rows (each the defaults overridden by its fields); returns their ids in order."""
    ids = []
    with engine.begin() as conn:
        for row in rows:
            result = conn.execute(sa.insert(logs).values(**{**DEFAULTS, **row}))
            key = result.inserted_primary_key
            assert key is not None
            ids.append(int(key[0]))
    return ids
