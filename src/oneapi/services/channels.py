"""Channel CRUD (SPEC §1.3, §2.3): validation, bulk create by key lines, updates, deletes.

Every write that changes what a channel serves rebuilds its ability rows in the same transaction
(services/abilities.py), so the routing index always matches the channels table.

Create: one channel per non-empty line of `key` (trimmed; a key that is one JSON object, such as
a cloud service-account file, is a single key), all other fields shared. `name` and `key` are
required; `group` defaults to "default"; `base_url` stays "" unless given (the type's default
applies at relay time); status defaults to 1 (enabled).

Update (PUT): fields absent or null are left alone. `name`, `key` sent as "" and `type`, `status`
sent as 0 also keep the stored value, as in One API: the console sends the whole channel back and
the key it got was masked as "", an empty name is not allowed, and type/status 0 mean "not chosen".
Every other field, once present, is applied as sent, including "" and 0 — so models, group,
model_mapping, system_prompt, base_url, config, other, testing_model and model_configs can be
cleared, and priority, weight and ratelimit can be set to 0. An empty group becomes "default".

Stored `models` and `group` are normalised to their names joined by "," (trimmed, no empties or
repeats), the same split the ability rows use. Other text fields are trimmed, except
`system_prompt` (kept verbatim) and `key` (trimmed per line). `model_mapping`, `config` and
`model_configs` must be "" or a JSON object (model_mapping's values strings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from oneapi.db.tables import channels
from oneapi.services import abilities
from oneapi.services.abilities import split_names
from oneapi.services.channel_types import CHANNEL_TYPES
from oneapi.services.keys import now_ms, now_s
from oneapi.services.roles import CHANNEL_AUTO_DISABLED, CHANNEL_ENABLED, CHANNEL_MANUALLY_DISABLED

NAME_REQUIRED = "Channel name cannot be empty"
KEY_REQUIRED = "Channel key cannot be empty"
BAD_STATUS = "status must be 1 (enabled), 2 (manually disabled) or 3 (auto-disabled)"

TEXT_FIELDS = (
    "key",
    "name",
    "base_url",
    "other",
    "models",
    "group",
    "model_mapping",
    "config",
    "system_prompt",
    "testing_model",
    "model_configs",
)
INT_FIELDS = ("type", "status", "priority", "weight", "ratelimit")
KEEP_IF_EMPTY = ("key", "name", "type", "status")
JSON_FIELDS = ("model_mapping", "config", "model_configs")
MAX_LENGTH = {"name": 191, "base_url": 255, "group": 32, "testing_model": 255}
MAX_MODEL_NAME = 191
INT32, INT64 = 2**31 - 1, 2**63 - 1

DEFAULTS: dict[str, Any] = {
    "type": 0,
    "status": CHANNEL_ENABLED,
    "priority": 0,
    "weight": 0,
    "ratelimit": 0,
    "base_url": "",
    "other": "",
    "models": "",
    "group": "default",
    "model_mapping": "",
    "config": "",
    "system_prompt": "",
    "testing_model": "",
    "model_configs": "",
    "used_quota": 0,
    "balance": 0.0,
    "balance_updated_time": 0,
    "test_time": 0,
    "response_time": 0,
}
_NUMBERS = {"type", "status", "weight", "created_time", "test_time", "response_time", "balance"}
_NUMBERS |= {"balance_updated_time", "used_quota", "priority", "ratelimit", "created_at", "updated_at"}
_UNKEYED = [c for c in channels.c if c.name != "key"]
_DISABLED = (CHANNEL_MANUALLY_DISABLED, CHANNEL_AUTO_DISABLED)


class ChannelError(Exception):
    """A request the channel rules refuse; the message is meant for the operator."""


def not_found(channel_id: int) -> ChannelError:
    return ChannelError(f"Channel {channel_id} does not exist")


def _check_json_object(field: str, text: str) -> None:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ChannelError(f"{field} must be a JSON object or empty: invalid JSON") from None
    if not isinstance(value, dict):
        raise ChannelError(f"{field} must be a JSON object or empty, not a JSON {type(value).__name__}")
    if field == "model_mapping" and not all(isinstance(v, str) for v in value.values()):
        raise ChannelError('model_mapping values must be model names (strings), e.g. {"gpt-4": "gpt-4o"}')


def _check_int(field: str, value: int) -> None:
    limit = INT64 if field == "priority" else INT32
    low = -limit - 1 if field == "priority" else 0
    if not low <= value <= limit:
        raise ChannelError(f"{field} must be between {low} and {limit}")
    if field == "type" and value not in CHANNEL_TYPES:
        raise ChannelError(f"Unknown channel type: {value}")
    if field == "status" and value not in (CHANNEL_ENABLED, *_DISABLED):
        raise ChannelError(BAD_STATUS)


def clean_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The writable fields present in `fields`, checked and normalised (see the module rules)."""
    out: dict[str, Any] = {}
    for field in (*TEXT_FIELDS, *INT_FIELDS):
        value = fields.get(field)
        if value is None or (field in KEEP_IF_EMPTY and not value):
            continue
        if field in INT_FIELDS:
            _check_int(field, value)
        elif field in ("models", "group"):
            value = ",".join(split_names(value))
        elif field not in ("key", "system_prompt"):
            value = value.strip()
        if field in ("key", "name") and not value.strip():
            continue
        if field in JSON_FIELDS and value:
            _check_json_object(field, value)
        out[field] = value
    if "group" in out and not out["group"]:
        out["group"] = "default"
    for field, limit in MAX_LENGTH.items():
        if len(out.get(field, "")) > limit:
            raise ChannelError(f"{field} cannot be longer than {limit} characters")
    if any(len(m) > MAX_MODEL_NAME for m in split_names(out.get("models"))):
        raise ChannelError(f"model names cannot be longer than {MAX_MODEL_NAME} characters")
    base_url = out.get("base_url", "")
    if base_url and not base_url.startswith(("http://", "https://")):
        raise ChannelError("base_url must start with http:// or https://")
    return out


def split_keys(key: str) -> list[str]:
    """The keys of a bulk create: non-empty trimmed lines, or the whole text if it is one JSON object."""
    text = key.strip()
    if text.startswith("{"):
        try:
            if isinstance(orjson.loads(text), dict):
                return [text]
        except orjson.JSONDecodeError:
            pass
    return [line.strip() for line in key.split("\n") if line.strip()]


def channel_dto(row: Mapping[Any, Any], *, with_key: bool = False) -> dict[str, Any]:
    """The JSON of a channel row; the key is "" unless `with_key` (only PUT echoes it)."""
    dto: dict[str, Any] = {}
    for column in channels.c:
        value = row.get(column.name)
        if value is None:
            value = 0 if column.name in _NUMBERS else ""
        dto[column.name] = value
    dto["balance"] = float(dto["balance"])
    if not with_key:
        dto["key"] = ""
    return dto


def listed_dto(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A channel in a list or search: masked key, plus `test_models` (its models, as a list)."""
    return {**channel_dto(row), "test_models": split_names(row.get("models"))}


async def create_channels(engine: AsyncEngine, fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Insert one channel per key line with its ability rows, all in one transaction."""
    values = clean_fields(fields)
    if not values.get("name"):
        raise ChannelError(NAME_REQUIRED)
    keys = split_keys(values.pop("key", ""))
    if not keys:
        raise ChannelError(KEY_REQUIRED)
    stamp = now_ms()
    shared = {**DEFAULTS, **values, "created_time": now_s(), "created_at": stamp, "updated_at": stamp}
    created: list[dict[str, Any]] = []
    async with engine.begin() as conn:
        for key in keys:
            result = await conn.execute(insert(channels).values(**shared, key=key))
            inserted = result.inserted_primary_key
            assert inserted is not None  # a single-row INSERT always reports its key
            row = {**shared, "key": key, "id": int(inserted[0])}
            await abilities.rebuild(conn, row)
            created.append(row)
    return [channel_dto(row) for row in created]


async def duplicate_channel(engine: AsyncEngine, channel_id: int) -> dict[str, Any]:
    """A new channel with the same key and settings, named "<name> (copy)", and its abilities."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(channels).where(channels.c.id == channel_id))).mappings().first()
    if row is None:
        raise not_found(channel_id)
    fields = {f: row[f] for f in (*TEXT_FIELDS, *INT_FIELDS) if row[f] is not None}
    fields["name"] = f"{row['name'] or ''} (copy)"[: MAX_LENGTH["name"]]
    return (await create_channels(engine, fields))[0]


async def _locked_row(conn: AsyncConnection, channel_id: int) -> RowMapping:
    stmt = select(channels).where(channels.c.id == channel_id).with_for_update()
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        raise not_found(channel_id)
    return row


async def update_channel(engine: AsyncEngine, channel_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the present fields (module rules), then rebuild the channel's abilities; returns it with key."""
    values = {**clean_fields(fields), "updated_at": now_ms()}
    if "key" in values:
        values["key"] = values["key"].strip()
    async with engine.begin() as conn:
        row = await _locked_row(conn, channel_id)
        await conn.execute(update(channels).where(channels.c.id == channel_id).values(**values))
        merged = {**row, **values}
        await abilities.rebuild(conn, merged)
    return channel_dto(merged, with_key=True)


async def set_status(engine: AsyncEngine, channel_id: int, status: int | None) -> dict[str, Any]:
    """Change only the status; the channel's abilities follow (enabled iff status is 1)."""
    if status is None or status not in (CHANNEL_ENABLED, *_DISABLED):
        raise ChannelError(BAD_STATUS)
    values = {"status": status, "updated_at": now_ms()}
    async with engine.begin() as conn:
        row = await _locked_row(conn, channel_id)
        await conn.execute(update(channels).where(channels.c.id == channel_id).values(**values))
        await abilities.set_enabled(conn, channel_id, status == CHANNEL_ENABLED)
    return channel_dto({**row, **values}, with_key=True)


async def delete_channel(engine: AsyncEngine, channel_id: int) -> None:
    """Delete a channel and its ability rows together."""
    async with engine.begin() as conn:
        result = await conn.execute(delete(channels).where(channels.c.id == channel_id))
        if result.rowcount == 0:
            raise not_found(channel_id)
        await abilities.delete_for(conn, [channel_id])


async def delete_disabled(engine: AsyncEngine) -> int:
    """Delete every manually or automatically disabled channel and its abilities; returns how many."""
    disabled = channels.c.status.in_(_DISABLED)
    async with engine.begin() as conn:
        ids = list((await conn.execute(select(channels.c.id).where(disabled))).scalars())
        await abilities.delete_for(conn, ids)
        if ids:
            await conn.execute(delete(channels).where(channels.c.id.in_(ids)))
    return len(ids)


async def get_channel(engine: AsyncEngine, channel_id: int) -> dict[str, Any]:
    async with engine.connect() as conn:
        stmt = select(*_UNKEYED).where(channels.c.id == channel_id)
        row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        raise not_found(channel_id)
    return channel_dto(row)


def filters(type_id: int | None, status: int | None) -> list[ColumnElement[bool]]:
    """WHERE clauses of the optional `type` and `status` list filters."""
    where: list[ColumnElement[bool]] = []
    if type_id is not None:
        where.append(channels.c.type == type_id)
    if status is not None:
        where.append(channels.c.status == status)
    return where


async def list_channels(
    engine: AsyncEngine,
    *,
    offset: int,
    limit: int,
    order: Sequence[ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]] = (),
) -> tuple[list[dict[str, Any]], int]:
    """One page of channels (keys masked) and the unpaginated count."""
    async with engine.connect() as conn:
        stmt = select(*_UNKEYED).where(*where).order_by(*order).offset(offset).limit(limit)
        rows = (await conn.execute(stmt)).mappings().all()
        total = (await conn.execute(select(func.count()).select_from(channels).where(*where))).scalar_one()
    return [listed_dto(row) for row in rows], int(total)


async def search_channels(
    engine: AsyncEngine,
    keyword: str,
    *,
    order: Sequence[ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]] = (),
) -> list[dict[str, Any]]:
    """Channels whose name starts with `keyword`, or whose id it is; unpaginated."""
    keyword = keyword.strip()
    match: ColumnElement[bool] = channels.c.name.startswith(keyword, autoescape=True)
    if keyword.isdigit():
        match = or_(match, channels.c.id == int(keyword))
    async with engine.connect() as conn:
        stmt = select(*_UNKEYED).where(match, *where).order_by(*order)
        rows = (await conn.execute(stmt)).mappings().all()
    return [listed_dto(row) for row in rows]
