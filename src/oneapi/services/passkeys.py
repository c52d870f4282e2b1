"""The `passkey_credentials` rows of a user: list, add, rename, delete, and the sign-in bookkeeping.

Rows are the fork's (SPEC §1.3 passkey sign-in): raw credential id and COSE public key as bytes,
timestamps in Unix milliseconds, a `uuid` filled on insert so the fork can read what we write.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import passkey_credentials as table
from oneapi.services.keys import now_ms

NAME_LIMIT = 128
MAX_ID = 2**63 - 1  # bigint
DEFAULT_NAME = "Passkey"
NOT_FOUND = "passkey not found"
BAD_REF = "invalid credential id"
ALREADY_REGISTERED = "this passkey is already registered"
BAD_NAME = "name must be 1-128 characters"


class PasskeyError(Exception):
    """A refused passkey operation; the message is shown to the caller."""


def public_view(row: RowMapping) -> dict[str, Any]:
    """What the list answers: the fork's fields, plus our integer id."""
    return {
        "id": row["id"],
        "uuid": row["uuid"] or "",
        "user_uuid": row["user_uuid"],
        "credential_name": row["credential_name"],
        "sign_count": row["sign_count"] or 0,
        "created_at": row["created_at"] or 0,
    }


def registration_name(raw: str | None) -> str:
    """The label a new passkey gets: the given name trimmed and cut to 128 characters, or "Passkey"."""
    name = (raw or "").strip()
    return name[:NAME_LIMIT] if name else DEFAULT_NAME


def new_name(raw: Any) -> str:
    """A rename's label: a string of 1-128 characters after trimming, else PasskeyError."""
    name = raw.strip() if isinstance(raw, str) else ""
    if not name or len(name) > NAME_LIMIT:
        raise PasskeyError(BAD_NAME)
    return name


async def list_for_user(engine: AsyncEngine, user_id: int) -> list[RowMapping]:
    stmt = select(table).where(table.c.user_id == user_id).order_by(table.c.id)
    async with engine.connect() as conn:
        return list((await conn.execute(stmt)).mappings().all())


async def by_credential_id(engine: AsyncEngine, credential_id: bytes) -> RowMapping | None:
    stmt = select(table).where(table.c.credential_id == credential_id).limit(1)
    async with engine.connect() as conn:
        return (await conn.execute(stmt)).mappings().first()


async def add(
    engine: AsyncEngine,
    *,
    user_id: int,
    name: str,
    credential_id: bytes,
    public_key: bytes,
    attestation_type: str,
    aaguid: bytes,
    sign_count: int,
    backup_eligible: bool,
    backup_state: bool,
    transports: list[str],
) -> dict[str, Any]:
    """Store a verified credential; the same authenticator credential twice is refused."""
    now = now_ms()
    values = {
        "uuid": str(uuidlib.uuid4()),
        "user_id": user_id,
        "user_uuid": None,
        "credential_name": name,
        "credential_id": credential_id,
        "public_key": public_key,
        "attestation_type": attestation_type,
        "aaguid": aaguid,
        "sign_count": sign_count,
        "backup_eligible": backup_eligible,
        "backup_state": backup_state,
        "transport": ",".join(transports),
        "created_at": now,
        "updated_at": now,
    }
    try:
        async with engine.begin() as conn:
            result = await conn.execute(insert(table).values(**values))
    except IntegrityError:
        raise PasskeyError(ALREADY_REGISTERED) from None
    key = result.inserted_primary_key
    return {"id": key[0] if key else None, **values}


async def record_use(engine: AsyncEngine, row: RowMapping, sign_count: int, backup_state: bool) -> bool:
    """Store the counter a sign-in reported. False when another sign-in with the same counter
    got there first (a cloned or replayed assertion racing this one)."""
    stmt = (
        update(table)
        .where(table.c.id == row["id"], table.c.sign_count == (row["sign_count"] or 0))
        .values(sign_count=sign_count, backup_state=backup_state, updated_at=now_ms())
    )
    async with engine.begin() as conn:
        changed = (await conn.execute(stmt)).rowcount
    return bool(changed) or sign_count == 0


def _is_uuid(ref: str) -> bool:
    """The fork's external ids: a hyphenated 36-character UUID."""
    if len(ref) != 36:
        return False
    try:
        uuidlib.UUID(ref)
    except ValueError:
        return False
    return True


async def resolve_ref(engine: AsyncEngine, user_id: int, ref: str) -> int:
    """The id of the caller's passkey named by `ref`: our integer id or the fork's uuid."""
    ref = ref.strip()
    if ref.isascii() and ref.isdigit():
        if int(ref) > MAX_ID:
            raise PasskeyError(NOT_FOUND)
        where = table.c.id == int(ref)
    elif _is_uuid(ref):
        where = table.c.uuid == ref
    else:
        raise PasskeyError(BAD_REF)
    stmt = select(table.c.id).where(where, table.c.user_id == user_id).limit(1)
    async with engine.connect() as conn:
        found = (await conn.execute(stmt)).scalar()
    if found is None:
        raise PasskeyError(NOT_FOUND)
    return int(found)


async def rename(engine: AsyncEngine, user_id: int, ref: str, name: str) -> None:
    passkey_id = await resolve_ref(engine, user_id, ref)
    stmt = (
        update(table)
        .where(table.c.id == passkey_id, table.c.user_id == user_id)
        .values(credential_name=name, updated_at=now_ms())
    )
    async with engine.begin() as conn:
        await conn.execute(stmt)


async def remove(engine: AsyncEngine, user_id: int, ref: str) -> None:
    passkey_id = await resolve_ref(engine, user_id, ref)
    stmt = delete(table).where(table.c.id == passkey_id, table.c.user_id == user_id)
    async with engine.begin() as conn:
        if not (await conn.execute(stmt)).rowcount:
            raise PasskeyError(NOT_FOUND)
