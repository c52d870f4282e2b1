"""First start on an empty database: create `root` / `123456` (and the optional initial keys)."""

from __future__ import annotations

import logging

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.config import Settings
from oneapi.db.tables import tokens, users
from oneapi.services.keys import aff_code, now_ms, uuid_hex
from oneapi.services.passwords import hash_password
from oneapi.services.roles import ROLE_ROOT, USER_ENABLED
from oneapi.services.token_rows import new_token_values

log = logging.getLogger(__name__)

ROOT_USERNAME = "root"
ROOT_PASSWORD = "123456"
ROOT_QUOTA = 500_000_000_000_000


async def create_root_if_needed(engine: AsyncEngine, settings: Settings) -> bool:
    """Insert the root account when the users table is empty; True if it did."""
    async with engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(users))).scalar_one()
    if count:
        return False
    password = await hash_password(ROOT_PASSWORD)
    now = now_ms()
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(users).values(
                username=ROOT_USERNAME,
                password=password,
                display_name="Root User",
                role=ROLE_ROOT,
                status=USER_ENABLED,
                quota=ROOT_QUOTA,
                used_quota=0,
                request_count=0,
                group="default",
                aff_code=aff_code(),
                access_token=settings.initial_root_access_token or uuid_hex(),
                created_at=now,
                updated_at=now,
            )
        )
        root_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        if settings.initial_root_token:
            key = settings.initial_root_token.removeprefix(settings.token_key_prefix).removeprefix("sk-")
            values = new_token_values(
                root_id, "Initial Root Token", key=key, remain_quota=ROOT_QUOTA, unlimited_quota=True
            )
            await conn.execute(insert(tokens).values(**values))
    log.warning("created the root account: username 'root', password '123456' — change it now")
    return True
