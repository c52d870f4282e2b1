"""A user's relay keys (tokens): list, search, read, create, update, delete (SPEC §2.2, §3.5).

Every function takes the owner's id and reads or writes only that user's rows, so one user can
never see or change another's keys. Keys are stored without the `sk-` prefix; the DTO adds it.
Updates are partial: a field the body leaves out keeps its stored value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from oneapi.db.tables import tokens, users
from oneapi.services.keys import now_ms, now_s
from oneapi.services.roles import TOKEN_DISABLED, TOKEN_ENABLED, TOKEN_EXHAUSTED, TOKEN_EXPIRED
from oneapi.services.token_rows import new_token_values

MAX_NAME_LENGTH = 30
NEVER_EXPIRES = -1
SORTABLE = (
    "id",
    "name",
    "status",
    "expired_time",
    "remain_quota",
    "used_quota",
    "created_at",
    "updated_at",
)
LEGACY_ORDER: dict[str, Sequence[ColumnElement[Any]]] = {
    "remain_quota": (tokens.c.unlimited_quota.desc(), tokens.c.remain_quota.desc(), tokens.c.id.desc()),
    "used_quota": (tokens.c.used_quota.desc(), tokens.c.id.desc()),
}
STATUSES = (TOKEN_ENABLED, TOKEN_DISABLED, TOKEN_EXPIRED, TOKEN_EXHAUSTED)

EXPIRED_CANNOT_ENABLE = (
    "The token has expired and cannot be enabled. Please modify the expiration time of the token, "
    "or set it to never expire."
)
EXHAUSTED_CANNOT_ENABLE = (
    "The available quota of the token has been used up and cannot be enabled. Please modify the "
    "remaining quota of the token, or set it to unlimited quota."
)


class TokenError(ValueError):
    """A token request that cannot be carried out; the message is shown to the user."""


@dataclass(frozen=True)
class TokenFields:
    """What a client may set on a token; None means "not given"."""

    name: str | None = None
    expired_time: int | None = None
    remain_quota: int | None = None
    unlimited_quota: bool | None = None
    models: str | None = None
    subnet: str | None = None
    status: int | None = None


def token_dto(row: Mapping[Any, Any], key_prefix: str) -> dict[str, Any]:
    """What the API shows of a `tokens` row: the key with its prefix, never a null text field."""
    return {
        "id": row["id"],
        "user_id": row["user_id"] or 0,
        "key": key_prefix + (row["key"] or ""),
        "status": row["status"] or 0,
        "name": row["name"] or "",
        "created_time": row["created_time"] or 0,
        "accessed_time": row["accessed_time"] or 0,
        "expired_time": row["expired_time"] if row["expired_time"] is not None else NEVER_EXPIRES,
        "remain_quota": row["remain_quota"] or 0,
        "unlimited_quota": bool(row["unlimited_quota"]),
        "used_quota": row["used_quota"] or 0,
        "models": row["models"] or "",
        "subnet": row["subnet"] or "",
        "created_at": row["created_at"] or 0,
        "updated_at": row["updated_at"] or 0,
    }


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def normalize_models(text: str) -> str:
    """The comma-separated model allow-list with the spaces around each name removed."""
    return ",".join(_split(text))


def normalize_subnet(text: str) -> str:
    """Comma-separated CIDRs, each checked; TokenError names the first one that is not a network."""
    parts = _split(text)
    for part in parts:
        try:
            if "/" not in part:
                raise ValueError(part)
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise TokenError(f"invalid token: invalid network segment: {part}") from None
    return ",".join(parts)


def _checked_name(name: str, blank_message: str) -> str:
    name = name.strip()
    if not name:
        raise TokenError(blank_message)
    if len(name) > MAX_NAME_LENGTH:
        raise TokenError("invalid token: Token name is too long")
    return name


def _not_found(token_id: int, user_id: int) -> TokenError:
    return TokenError(f"failed to get token by id={token_id} and userId={user_id}: record not found")


def _expiry_valid(expired_time: int, now: int) -> bool:
    return expired_time == NEVER_EXPIRES or expired_time > now


def resolve_status(
    stored: Mapping[Any, Any],
    requested: int | None,
    expired_time: int,
    remain_quota: int,
    unlimited: bool,
    now: int,
) -> int:
    """The status a token ends up with after an update (None = keep the stored one).

    Enabling needs a valid expiry and, for an exhausted key, quota left; asking for
    "expired" or "exhausted" when the key is neither gives "enabled".
    """
    if requested is not None and requested not in STATUSES:
        raise TokenError(f"invalid token status: {requested}")
    if requested == TOKEN_ENABLED:
        stored_expiry = stored["expired_time"] if stored["expired_time"] is not None else NEVER_EXPIRES
        was_expired = stored["status"] == TOKEN_EXPIRED or not _expiry_valid(stored_expiry, now)
        if was_expired and not _expiry_valid(expired_time, now):
            raise TokenError(EXPIRED_CANNOT_ENABLE)
        if stored["status"] == TOKEN_EXHAUSTED and remain_quota <= 0 and not unlimited:
            raise TokenError(EXHAUSTED_CANNOT_ENABLE)
    status = int(stored["status"] or TOKEN_ENABLED) if requested is None else requested
    if status == TOKEN_EXHAUSTED and (remain_quota > 0 or unlimited):
        return TOKEN_ENABLED
    if status == TOKEN_EXPIRED and _expiry_valid(expired_time, now):
        return TOKEN_ENABLED
    return status


def _owned(user_id: int | None, keyword: str | None, below_role: int | None = None) -> Select[Any]:
    """Tokens of `user_id` (None = any owner, but only of users whose role is below `below_role`)."""
    stmt = select(tokens)
    if user_id is not None:
        stmt = stmt.where(tokens.c.user_id == user_id)
    if below_role is not None:
        stmt = stmt.where(tokens.c.user_id.in_(select(users.c.id).where(users.c.role < below_role)))
    if keyword:
        stmt = stmt.where(tokens.c.name.startswith(keyword, autoescape=True))
    return stmt


async def list_tokens(
    engine: AsyncEngine,
    user_id: int | None,
    *,
    order: Sequence[ColumnElement[Any]],
    offset: int,
    limit: int,
    keyword: str | None = None,
    below_role: int | None = None,
) -> tuple[list[RowMapping], int]:
    """One page of the user's tokens (optionally those whose name starts with `keyword`) and the total;
    `user_id` None with `below_role` is the admin view across users."""
    stmt = _owned(user_id, keyword, below_role)
    async with engine.connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        rows = (await conn.execute(stmt.order_by(*order).offset(offset).limit(limit))).mappings().all()
    return list(rows), int(total)


async def _fetch(conn: AsyncConnection, user_id: int, token_id: int) -> RowMapping:
    stmt = select(tokens).where(tokens.c.id == token_id, tokens.c.user_id == user_id)
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        raise _not_found(token_id, user_id)
    return row


async def get_any_token(engine: AsyncEngine, token_id: int, below_role: int | None) -> RowMapping:
    """Any user's token, for the admin view; TokenError when missing or its owner's role is too high."""
    async with engine.connect() as conn:
        row = (
            (await conn.execute(_owned(None, None, below_role).where(tokens.c.id == token_id)))
            .mappings()
            .first()
        )
    if row is None:
        raise TokenError(f"invalid token id: {token_id} not found")
    return row


async def get_token(engine: AsyncEngine, user_id: int, token_id: int) -> RowMapping:
    """The user's token `token_id`; TokenError when it does not exist or belongs to someone else."""
    async with engine.connect() as conn:
        return await _fetch(conn, user_id, token_id)


async def create_token(engine: AsyncEngine, user_id: int, fields: TokenFields) -> RowMapping:
    """A new enabled token with a fresh key, after checking name and subnet."""
    name = _checked_name(fields.name or "", "Token name is required")
    values = new_token_values(
        user_id,
        name,
        expired_time=NEVER_EXPIRES if fields.expired_time is None else fields.expired_time,
        remain_quota=fields.remain_quota or 0,
        unlimited_quota=bool(fields.unlimited_quota),
        models=None if fields.models is None else normalize_models(fields.models),
        subnet=normalize_subnet(fields.subnet or ""),
    )
    async with engine.begin() as conn:
        result = await conn.execute(insert(tokens).values(**values))
        token_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return await _fetch(conn, user_id, token_id)


def _changes(stored: RowMapping, fields: TokenFields, status_only: bool, now: int) -> dict[str, Any]:
    """The columns an update writes: only `status` in status-only mode, else every given field."""
    values: dict[str, Any] = {}
    if not status_only:
        if fields.name is not None:
            values["name"] = _checked_name(fields.name, "Token name cannot be empty")
        if fields.models is not None:
            values["models"] = normalize_models(fields.models)
        if fields.subnet is not None:
            values["subnet"] = normalize_subnet(fields.subnet)
        for column in ("expired_time", "remain_quota", "unlimited_quota"):
            if getattr(fields, column) is not None:
                values[column] = getattr(fields, column)
    elif fields.status is None:
        raise TokenError("token status is required")
    expired_time = values.get("expired_time", stored["expired_time"])
    values["status"] = resolve_status(
        stored,
        fields.status,
        NEVER_EXPIRES if expired_time is None else int(expired_time),
        int(values.get("remain_quota", stored["remain_quota"]) or 0),
        bool(values.get("unlimited_quota", stored["unlimited_quota"])),
        now,
    )
    values["updated_at"] = now_ms()
    return values


async def update_token(
    engine: AsyncEngine, user_id: int, token_id: int, fields: TokenFields, *, status_only: bool
) -> RowMapping:
    """Apply `fields` to the user's token and return the stored result."""
    async with engine.begin() as conn:
        stored = await _fetch(conn, user_id, token_id)
        values = _changes(stored, fields, status_only, now_s())
        await conn.execute(
            update(tokens).where(tokens.c.id == token_id, tokens.c.user_id == user_id).values(**values)
        )
        return await _fetch(conn, user_id, token_id)


async def delete_token(engine: AsyncEngine, user_id: int, token_id: int) -> None:
    """Remove the user's token; TokenError when it is not theirs."""
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(tokens).where(tokens.c.id == token_id, tokens.c.user_id == user_id)
        )
        if result.rowcount == 0:
            raise _not_found(token_id, user_id)
