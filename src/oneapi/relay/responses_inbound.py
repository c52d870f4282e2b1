"""`/v1/responses` (SPEC §6.7): create through any channel, and the stored-response routes.

`POST /v1/responses` is a conversational request like Chat or Claude Messages: served natively by
channels that speak Responses (OpenAI, xAI, Azure gpt-5, OpenAI-compatible with
`api_format=response`), converted to Chat (or another protocol) elsewhere.

`GET /v1/responses/{id}` (with its query, e.g. `include[]` or `stream=true`),
`GET /v1/responses/{id}/input_items`, `DELETE /v1/responses/{id}` and
`POST /v1/responses/{id}/cancel` reach the stored response on the channel that created it: the
one remembered for that id and user, else each Responses-capable channel of the caller's group in
priority order until one does not answer 404. They cost nothing and are passed through as they
come (status, body, SSE).
"""

from __future__ import annotations

import aiohttp
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from oneapi.relay.auth import Identity
from oneapi.relay.channel import Channel
from oneapi.relay.codecs import OPENAI_RESPONSES
from oneapi.relay.conversation import relay_conversation
from oneapi.relay.errors import RelayError
from oneapi.relay.modes import Mode
from oneapi.relay.passthrough import request_upstream, stream_body
from oneapi.relay.pipeline import identify, request_id_of
from oneapi.relay.providers.base import ChannelConfigError
from oneapi.relay.providers.registry import provider_for
from oneapi.relay.streaming import RelayStreamingResponse
from oneapi.state import AppState

MAX_PROBED_CHANNELS = 8
_PASSED_HEADERS = ("content-type", "openai-processing-ms", "openai-version", "x-request-id")


async def create(request: Request) -> Response:
    return await relay_conversation(request, OPENAI_RESPONSES)


def _owners_first(state: AppState, identity: Identity, response_id: str) -> list[Channel]:
    """The channel that made `response_id` for this user, else the group's Responses channels."""
    directory = state.relay.directory
    owner = state.relay.response_owners.owner(response_id)
    if owner is not None:
        channel = directory.channel(owner.channel_id)
        if owner.user_id != identity.user.id or channel is None:
            return []
        return [channel]
    if identity.pinned_channel is not None:
        pinned = directory.channel(identity.pinned_channel)
        return [pinned] if pinned is not None else []
    group = identity.user.group
    found: dict[int, tuple[int, Channel]] = {}
    for model in directory.models_for(group):
        for candidate in directory.candidates(group, model):
            channel = candidate.channel
            if channel.id in found:
                continue
            if OPENAI_RESPONSES in provider_for(channel.type).protocols(channel, model):
                found[channel.id] = (candidate.priority, channel)
    ranked = sorted(found.values(), key=lambda item: (-item[0], item[1].id))
    return [channel for _, channel in ranked[:MAX_PROBED_CHANNELS]]


async def _call(state: AppState, request: Request, channel: Channel, path: str) -> aiohttp.ClientResponse:
    provider = provider_for(channel.type)
    try:
        call = provider.prepare(channel, path, "", Mode.RESPONSES)
    except ChannelConfigError as exc:
        raise RelayError(
            500, f"channel #{channel.id} is misconfigured: {exc}", "channel_config_error"
        ) from None
    headers = dict(call.headers)
    body = await request.body()
    if body:
        headers["Content-Type"] = request.headers.get("content-type", "application/json")
    return await request_upstream(state.relay.http, request.method, call.url, headers, body or None)


async def stored(request: Request) -> Response:
    """GET / DELETE / cancel of a stored response, on the channel that holds it."""
    state: AppState = request.app.state.oneapi
    rid = request_id_of(request)
    response_id = request.path_params["response_id"]
    path = request.url.path
    path = path[path.index("/v1/responses") :]
    if request.url.query:
        path += "?" + request.url.query
    try:
        identity = await identify(request, state)
        await state.relay.directory.fresh()
        upstream: aiohttp.ClientResponse | None = None
        for channel in _owners_first(state, identity, response_id):
            upstream = await _call(state, request, channel, path)
            if upstream.status != 404:
                break
            upstream.release()
            upstream = None
        if upstream is None:
            raise RelayError(
                404,
                f"Response with id '{response_id}' not found.",
                "response_not_found",
                "invalid_request_error",
            )
    except RelayError as err:
        return err.response(rid)
    if request.method == "DELETE" and upstream.status == 200:
        state.relay.response_owners.forget(response_id)
    return _passed(upstream)


def _passed(upstream: aiohttp.ClientResponse) -> Response:
    headers = {name: upstream.headers[name] for name in _PASSED_HEADERS if name in upstream.headers}
    return RelayStreamingResponse(stream_body(upstream), status_code=upstream.status, headers=headers)


RESPONSES_PATHS = ("/v1/responses",)
RESPONSES_ROUTES = [
    *(Route(path, create, methods=["POST"]) for path in RESPONSES_PATHS),
    Route("/v1/responses/{response_id}", stored, methods=["GET", "DELETE"]),
    Route("/v1/responses/{response_id}/input_items", stored, methods=["GET"]),
    Route("/v1/responses/{response_id}/cancel", stored, methods=["POST"]),
]
