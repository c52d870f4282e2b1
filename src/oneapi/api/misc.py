"""The small read-only routes of SPEC §1.3: groups, model lists, and the console's content options."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from oneapi.api.auth import Caller, admin_auth, app_state, user_auth
from oneapi.api.errors import ok
from oneapi.relay.errors import RelayError
from oneapi.relay.pipeline import identify, request_id_of
from oneapi.services.model_lists import group_models, models_per_type
from oneapi.services.roles import TOKEN_ENABLED

router = APIRouter()


@router.get("/api/group/")
async def list_groups(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    """The names of the groups GroupRatio prices."""
    return ok(list(app_state(request).options.ratios("GroupRatio")))


@router.get("/api/models")
async def models_by_channel_type(request: Request, caller: Caller = admin_auth) -> dict[str, Any]:
    """Channel type id (as a string key) → the model names known for that type."""
    per_type = await models_per_type(app_state(request).db.main)
    return ok({str(type_id): names for type_id, names in per_type.items()})


@router.get("/api/user/available_models")
async def user_available_models(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    """The models the caller's group can use, sorted."""
    return ok(await group_models(app_state(request).db.main, caller.group))


@router.get("/api/available_models", response_model=None)
async def key_available_models(request: Request) -> Response | dict[str, Any]:
    """With a relay key: the group's models the key may use (all of them without an allow-list).

    Key problems answer as the relay does: `{"error": …}` with 401/403."""
    state = app_state(request)
    try:
        identity = await identify(request, state)
    except RelayError as err:
        return err.response(request_id_of(request))
    directory = await state.relay.directory.fresh()
    served = directory.models_for(identity.user.group)
    allowed = identity.token.models
    if allowed is None:
        available = served
    else:
        lowered = {name.lower() for name in served}
        available = sorted(name for name in allowed if name.lower() in lowered)
    return ok({"available": available, "enabled": identity.token.status == TOKEN_ENABLED})


def _option(request: Request, key: str) -> dict[str, Any]:
    return ok(app_state(request).options.get(key))


@router.get("/api/notice")
async def notice(request: Request) -> dict[str, Any]:
    return _option(request, "Notice")


@router.get("/api/about")
async def about(request: Request) -> dict[str, Any]:
    return _option(request, "About")


@router.get("/api/home_page_content")
async def home_page_content(request: Request) -> dict[str, Any]:
    return _option(request, "HomePageContent")
