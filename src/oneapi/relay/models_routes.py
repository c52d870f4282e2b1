"""GET /v1/models and /v1/models/{model}: the models a relay key may use, in OpenAI's list shape.

A key with a model allow-list sees exactly that list; any other key sees every model the enabled
channels of its user's group serve. `owned_by` names the channel type serving the model.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from oneapi.relay.auth import Identity
from oneapi.relay.directory import ChannelDirectory
from oneapi.relay.errors import RelayError
from oneapi.relay.pipeline import identify, request_id_of
from oneapi.services.channel_types import all_models, type_name
from oneapi.state import AppState

MODEL_CREATED = 1626777600
_CATALOG_OWNERS = dict(all_models())


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _permission() -> list[dict[str, Any]]:
    """OpenAI's legacy per-model permission block, which older SDKs expect to find."""
    return [
        {
            "id": "modelperm-oneapi",
            "object": "model_permission",
            "created": MODEL_CREATED,
            "allow_create_engine": True,
            "allow_sampling": True,
            "allow_logprobs": True,
            "allow_search_indices": False,
            "allow_view": True,
            "allow_fine_tuning": False,
            "organization": "*",
            "group": None,
            "is_blocking": False,
        }
    ]


def _owner(directory: ChannelDirectory, group: str, model: str) -> str:
    candidates = directory.candidates(group, model)
    if candidates:
        return type_name(candidates[0].channel.type)
    return _CATALOG_OWNERS.get(model, "custom")


def _model_object(directory: ChannelDirectory, group: str, model: str) -> dict[str, Any]:
    return {
        "id": model,
        "object": "model",
        "created": MODEL_CREATED,
        "owned_by": _owner(directory, group, model),
        "permission": _permission(),
        "root": model,
        "parent": None,
    }


async def _visible(request: Request) -> tuple[Identity, ChannelDirectory, list[str]]:
    """The caller, the routing index and the sorted models the caller's key may list."""
    state: AppState = request.app.state.oneapi
    identity = await identify(request, state)
    directory = await state.relay.directory.fresh()
    allowed = identity.token.models
    models = sorted(allowed) if allowed is not None else directory.models_for(identity.user.group)
    return identity, directory, models


async def list_models(request: Request) -> Response:
    try:
        identity, directory, models = await _visible(request)
    except RelayError as err:
        return err.response(request_id_of(request))
    group = identity.user.group
    body: dict[str, Any] = {"object": "list", "data": [_model_object(directory, group, m) for m in models]}
    if "client_version" in request.query_params:
        body["models"] = []
    return _json(body)


async def retrieve_model(request: Request) -> Response:
    """One model; unknown or not allowed → HTTP 200 with OpenAI's model_not_found error body."""
    try:
        identity, directory, models = await _visible(request)
    except RelayError as err:
        return err.response(request_id_of(request))
    wanted = str(request.path_params["model"])
    found = wanted if wanted in models else next((m for m in models if m.lower() == wanted.lower()), None)
    if found is None:
        error = {
            "message": f"The model '{wanted}' does not exist",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
        return _json({"error": error})
    return _json(_model_object(directory, identity.user.group, found))


MODEL_ROUTES = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
]
