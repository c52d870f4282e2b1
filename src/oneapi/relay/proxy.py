"""ANY /v1/oneapi/proxy/{channel_id}/{target}: raw pass-through to one channel (SPEC §7.4).

The relay key is checked, then the request goes to the channel's base URL + target (query kept)
with the client's headers, except hop-by-hop ones and the client's credentials: the channel key
replaces them, as given (no `Bearer`). Request and response bodies stream through untouched
(status, headers, bytes, content encoding included). Nothing is billed; a consume log row with
model `proxy` and quota 0 records the call.
"""

from __future__ import annotations

import time

import aiohttp
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from oneapi.relay.auth import Identity
from oneapi.relay.billing import Settlement, consume_log_row
from oneapi.relay.channel import Channel
from oneapi.relay.errors import RelayError
from oneapi.relay.passthrough import request_upstream, stream_body
from oneapi.relay.pipeline import identify, request_id_of
from oneapi.relay.streaming import RelayStreamingResponse
from oneapi.services.channel_types import default_base_url
from oneapi.services.pricing import Price, Usage
from oneapi.services.roles import CHANNEL_ENABLED
from oneapi.state import AppState

# Connection-level headers never travel past a proxy; Host and Content-Length are set anew, and
# the client's own credentials (whichever header carried the relay key) must not reach upstream.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
_NOT_FORWARDED = _HOP_BY_HOP | {
    "host",
    "content-length",
    "accept-encoding",
    "authorization",
    "x-api-key",
    "api-key",
}
_NOT_RETURNED = {h.encode() for h in _HOP_BY_HOP | {"x-oneapi-request-id"}}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _channel(state: AppState, channel_id: int) -> Channel:
    channel = state.relay.directory.channel(channel_id)
    if channel is None:
        raise RelayError(400, f"Invalid Channel Id: {channel_id}", "invalid_channel")
    if channel.status != CHANNEL_ENABLED:
        raise RelayError(403, "The channel has been disabled", "channel_disabled")
    return channel


def _target(request: Request) -> str:
    """The path after `/v1/oneapi/proxy/<id>` exactly as the client encoded it, plus the query."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    parts = raw.split(b"/", 5)  # ['', 'v1', 'oneapi', 'proxy', '<id>', 'rest']
    target = "/" + (parts[5].decode("latin-1") if len(parts) > 5 else "")
    query = request.scope.get("query_string", b"")
    return f"{target}?{query.decode('latin-1')}" if query else target


def _upstream_headers(request: Request, channel: Channel) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
    headers["Authorization"] = channel.key
    length = request.headers.get("content-length")
    if length is not None:
        headers["Content-Length"] = length  # streamed with the length the client declared
    return headers


def _has_body(request: Request) -> bool:
    return "content-length" in request.headers or "transfer-encoding" in request.headers


async def proxy(request: Request) -> Response:
    state: AppState = request.app.state.oneapi
    rid = request_id_of(request)
    started = time.perf_counter()
    try:
        identity = await identify(request, state)
        await state.relay.directory.fresh()
        channel = _channel(state, int(request.path_params["channel_id"]))
        base = (channel.base_url or default_base_url(channel.type)).rstrip("/")
        if not base:
            raise RelayError(500, f"channel #{channel.id} has no base URL", "channel_config_error")
        upstream = await _send(state, request, channel, base + _target(request))
    except RelayError as err:
        return err.response(rid)

    def logged() -> None:
        _log(state, identity, channel, rid, started)

    response = RelayStreamingResponse(stream_body(upstream, logged), status_code=upstream.status)
    response.raw_headers = [(k.lower(), v) for k, v in upstream.raw_headers if k.lower() not in _NOT_RETURNED]
    return response


async def _send(state: AppState, request: Request, channel: Channel, url: str) -> aiohttp.ClientResponse:
    data = request.stream() if _has_body(request) else None
    return await request_upstream(
        state.relay.http, request.method, url, _upstream_headers(request, channel), data
    )


def _log(state: AppState, identity: Identity, channel: Channel, rid: str, started: float) -> None:
    if not state.options.get_bool("LogConsumeEnabled"):
        return
    settlement = Settlement(
        quota=0,
        usage=Usage(prompt_tokens=0, completion_tokens=0),
        price=Price(model_ratio=0.0),
        group_ratio=1.0,
        model="proxy",
        origin_model="proxy",
        channel_id=channel.id,
        is_stream=False,
        elapsed_ms=int((time.perf_counter() - started) * 1000),
        request_id=rid,
    )
    row = consume_log_row(identity, settlement, int(time.time()))
    row["content"] = f"proxy request to channel #{channel.id}"
    state.relay.ledger.add_log(row)
    state.relay.writer.notify()


PROXY_ROUTES = [Route("/v1/oneapi/proxy/{channel_id:int}/{target:path}", proxy, methods=METHODS)]
