"""Console catalogues: channel type metadata, priced models and tools, root's user picker (fork routes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from oneapi.api.auth import Caller, admin_auth, app_state, optional_caller, root_auth
from oneapi.api.errors import ok
from oneapi.db.tables import users
from oneapi.services.channel_types import all_types
from oneapi.services.pricing import price_of
from oneapi.services.roles import USER_DELETED

router = APIRouter()
USD_PER_MILLION_PER_RATIO = 2.0  # ratio = USD per 1M input tokens x 0.5
TOOL_CATALOGUE: list[dict[str, Any]] = []  # entries {server: {name, status, protocol}, tools: [...]}


@router.get("/api/channel/metadata")
async def channel_metadata(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    """Every channel type: id, name, default base URL and known models, for the channel editor."""
    return ok(
        [
            {"type": t.id, "name": t.name, "default_base_url": t.base_url, "models": list(t.models)}
            for t in all_types()
        ]
    )


@router.get("/api/models/display")
async def models_display(request: Request) -> dict[str, Any]:
    """The models the caller's group (default when anonymous) can use, with USD prices per 1M tokens."""
    state = app_state(request)
    caller = await optional_caller(request)
    group = caller.group if caller else "default"
    directory = await state.relay.directory.fresh()
    options = state.options
    data = []
    for model in directory.models_for(group):
        price = price_of(
            model,
            model_ratio_overrides=options.ratios("ModelRatio"),
            completion_ratio_overrides=options.ratios("CompletionRatio"),
        )
        per_million = price.model_ratio * USD_PER_MILLION_PER_RATIO
        cached = price.cached_input_ratio
        data.append(
            {
                "model": model,
                "input_usd_per_1m": round(per_million, 6),
                "output_usd_per_1m": round(per_million * price.completion_ratio, 6),
                "cached_input_usd_per_1m": round(
                    0.0
                    if cached < 0
                    else (cached * USD_PER_MILLION_PER_RATIO if cached > 0 else per_million),
                    6,
                ),
            }
        )
    return ok({"group": group, "models": data})


@router.get("/api/tools/display")
async def tools_display(request: Request) -> dict[str, Any]:
    """The callable tools with per-call pricing, as `[{server, tools: [...]}]` entries.

    The fork lists its MCP servers' enabled tools here; this gateway has no MCP servers or built-in
    tools, so the catalogue is an empty list of that shape (docs/decisions.md, "Tool catalogue").
    """
    return ok(TOOL_CATALOGUE)


@router.get("/api/user/dashboard/users")
async def dashboard_users(request: Request, caller: Caller = root_auth) -> dict[str, Any]:
    """Root's picker for the dashboard: every user not deleted (id, username, display name)."""
    stmt = (
        select(users.c.id, users.c.username, users.c.display_name)
        .where(users.c.status != USER_DELETED)
        .order_by(users.c.id)
    )
    async with app_state(request).db.main.connect() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
    return ok(
        [
            {"id": r["id"], "username": r["username"] or "", "display_name": r["display_name"] or ""}
            for r in rows
        ]
    )
