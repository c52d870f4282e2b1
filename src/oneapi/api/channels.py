"""/api/channel/*: channel management for administrators (SPEC §1.3 Channels, §2.3).

Thin: parse the request, call services/channels.py, wrap the result. Keys are never shown,
except in the answer to PUT (the stored key, as One API does).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request

from oneapi.api.auth import Caller, admin_auth, app_state
from oneapi.api.body import Body, parse_body
from oneapi.api.errors import ApiError, ok
from oneapi.api.pagination import order_of, page_of
from oneapi.db.tables import channels
from oneapi.services import channels as service
from oneapi.services.channel_types import all_models

router = APIRouter()

SORTABLE = (
    "id",
    "name",
    "type",
    "status",
    "response_time",
    "test_time",
    "priority",
    "weight",
    "used_quota",
    "created_at",
    "updated_at",
)
MODEL_CREATED = 1626777600


class ChannelBody(Body):
    """The writable fields of a channel; null or absent means "not given"."""

    type: int | None = None
    key: str | None = None
    status: int | None = None
    name: str | None = None
    base_url: str | None = None
    other: str | None = None
    models: str | None = None
    group: str | None = None
    model_mapping: str | None = None
    priority: int | None = None
    weight: int | None = None
    config: str | None = None
    system_prompt: str | None = None
    ratelimit: int | None = None
    testing_model: str | None = None
    model_configs: str | None = None


class ChannelUpdateBody(ChannelBody):
    id: int


@contextmanager
def _refusals() -> Iterator[None]:
    """Turn the service's refusals into One API's `success: false` answers."""
    try:
        yield
    except service.ChannelError as exc:
        raise ApiError(str(exc)) from None


def _routing_changed(request: Request) -> None:
    """Channels or abilities changed: this worker's relay rebuilds its routing index before the next
    request (other workers pick the change up at their next periodic reload)."""
    relay = app_state(request).relay
    if relay is not None:
        relay.directory.invalidate()


def _int_query(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(f"query parameter '{name}' must be an integer") from None


def _where(request: Request) -> list[Any]:
    return service.filters(_int_query(request, "type"), _int_query(request, "status"))


@router.get("/api/channel/")
async def list_channels(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    state = app_state(request)
    page = page_of(request, state.settings.max_items_per_page)
    rows, total = await service.list_channels(
        state.db.main,
        offset=page.offset,
        limit=page.limit,
        order=order_of(request, channels, SORTABLE),
        where=_where(request),
    )
    return ok(rows, total=total)


@router.get("/api/channel/search")
async def search_channels(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    rows = await service.search_channels(
        app_state(request).db.main,
        request.query_params.get("keyword", ""),
        order=order_of(request, channels, SORTABLE),
        where=_where(request),
    )
    return ok(rows)


@router.get("/api/channel/models")
async def list_all_models(caller: Caller = admin_auth) -> dict[str, Any]:
    """OpenAI's model-list shape, not the management envelope."""
    data = [
        {"id": model, "object": "model", "created": MODEL_CREATED, "owned_by": owner}
        for model, owner in all_models()
    ]
    return {"object": "list", "data": data}


@router.get("/api/channel/{channel_id:int}")
async def get_channel(request: Request, channel_id: int, caller: Caller = admin_auth) -> dict[str, Any]:
    with _refusals():
        return ok(await service.get_channel(app_state(request).db.main, channel_id))


@router.post("/api/channel/")
async def create_channels(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    body = await parse_body(request, ChannelBody)
    with _refusals():
        created = await service.create_channels(
            app_state(request).db.main, body.model_dump(exclude_none=True)
        )
    _routing_changed(request)
    return ok(created)


@router.post("/api/channel/{channel_id:int}/duplicate")
async def duplicate_channel(channel_id: int, request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    with _refusals():
        created = await service.duplicate_channel(app_state(request).db.main, channel_id)
    _routing_changed(request)
    return ok(created)


@router.put("/api/channel/")
async def update_channel(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    body = await parse_body(request, ChannelUpdateBody)
    engine = app_state(request).db.main
    with _refusals():
        if request.query_params.get("status_only", "").lower() in ("1", "true"):
            updated = await service.set_status(engine, body.id, body.status)
        else:
            fields = body.model_dump(exclude_none=True, exclude={"id"})
            updated = await service.update_channel(engine, body.id, fields)
    _routing_changed(request)
    return ok(updated)


@router.delete("/api/channel/disabled")
async def delete_disabled(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    deleted = await service.delete_disabled(app_state(request).db.main)
    _routing_changed(request)
    return ok(deleted)


@router.delete("/api/channel/{channel_id:int}")
async def delete_channel(request: Request, channel_id: int, caller: Caller = admin_auth) -> dict[str, Any]:
    with _refusals():
        await service.delete_channel(app_state(request).db.main, channel_id)
    _routing_changed(request)
    return ok()
