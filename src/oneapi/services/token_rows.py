"""The values of a new `tokens` row, shared by bootstrap, user creation and token CRUD."""

from __future__ import annotations

from typing import Any

from oneapi.services.keys import now_ms, now_s, token_key
from oneapi.services.roles import TOKEN_ENABLED


def new_token_values(
    user_id: int,
    name: str,
    *,
    key: str | None = None,
    expired_time: int = -1,
    remain_quota: int = 0,
    unlimited_quota: bool = False,
    models: str | None = None,
    subnet: str = "",
) -> dict[str, Any]:
    """A fresh enabled token: new 48-char key (unless given), created/accessed now, nothing used."""
    now = now_s()
    stamp = now_ms()
    return {
        "user_id": user_id,
        "key": key or token_key(),
        "status": TOKEN_ENABLED,
        "name": name,
        "created_time": now,
        "accessed_time": now,
        "expired_time": expired_time,
        "remain_quota": remain_quota,
        "unlimited_quota": unlimited_quota,
        "used_quota": 0,
        "models": models,
        "subnet": subnet,
        "created_at": stamp,
        "updated_at": stamp,
    }
