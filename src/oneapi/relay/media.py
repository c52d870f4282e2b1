"""What the non-chat endpoints (images, audio, rerank) share: admission and the upstream call.

Each endpoint reads its body into an `Incoming`, prices it with its own formula (SPEC §5.7), and
hands a `call` to the pipeline's retry loop; the reservation, refund on failure, settlement and
log row are the pipeline's, so every endpoint bills alike.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from oneapi.relay.auth import check_model_allowed
from oneapi.relay.billing import reserve
from oneapi.relay.channel import Channel
from oneapi.relay.errors import RelayError
from oneapi.relay.modes import Mode
from oneapi.relay.multipart import Multipart
from oneapi.relay.payload import build_payload
from oneapi.relay.pipeline import Job, identify, request_id_of, run, settle_quota
from oneapi.relay.providers.registry import provider_for
from oneapi.relay.upstream import UpstreamResponse
from oneapi.relay.upstream_send import send
from oneapi.services.pricing import Price, Usage, group_ratio, price_of
from oneapi.state import AppState


@dataclass
class Incoming:
    """A parsed request: its raw bytes, its fields (JSON body or form text fields), its model."""

    raw: bytes
    body: dict[str, Any]
    model: str
    form: Multipart | None = None
    notes: dict[str, Any] = field(default_factory=dict)  # what the endpoint measured while admitting


Parse = Callable[[bytes, str], Incoming]
Quote = Callable[[Incoming, str, Price, float], int]  # (request, model, price, group ratio) → quota
Call = Callable[[Job, Channel, Incoming], Awaitable[Response]]


def price_for(state: AppState, model: str, channel: Channel | None = None) -> Price:
    options = state.options
    return price_of(
        model,
        model_ratio_overrides=options.ratios("ModelRatio"),
        completion_ratio_overrides=options.ratios("CompletionRatio"),
        channel_model_configs=channel.model_configs if channel is not None else None,
    )


async def relay_media(request: Request, mode: Mode, parse: Parse, quote: Quote, call: Call) -> Response:
    """Authenticate, parse, check the model, reserve the quoted quota, then try channels with `call`."""
    state: AppState = request.app.state.oneapi
    rt = state.relay
    rid = request_id_of(request)
    started = time.perf_counter()
    try:
        identity = await identify(request, state)
        incoming = parse(await request.body(), request.headers.get("content-type", ""))
        if not incoming.model:
            raise RelayError(400, "model is required", "invalid_request")
        check_model_allowed(identity, incoming.model)
        await rt.directory.fresh()
        ratio = group_ratio(identity.user.group, state.options.ratios("GroupRatio"))
        estimate = quote(incoming, incoming.model, price_for(state, incoming.model), ratio)
        reservation = reserve(rt.ledger, identity, estimate)
    except RelayError as err:
        return err.response(rid)
    rt.writer.notify()
    job = Job(
        state=state,
        rt=rt,
        identity=identity,
        mode=mode,
        path=request.url.path,
        raw=incoming.raw,
        body=incoming.body,
        model=incoming.model,
        stream=False,
        request_id=rid,
        started=started,
        prompt_estimate=0,
        reservation=reservation,
    )

    async def attempt(job: Job, channel: Channel) -> Response:
        return await call(job, channel, incoming)

    return await run(job, attempt)


def parse_json(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise RelayError(400, f"invalid request body: {exc}", "invalid_request") from None
    if not isinstance(body, dict):
        raise RelayError(400, "invalid request body: expected a JSON object", "invalid_request")
    return body


def model_of(body: dict[str, Any]) -> str:
    model = body.get("model")
    return model if isinstance(model, str) else ""


def json_payload(job: Job, channel: Channel, upstream_model: str) -> bytes:
    """The client's JSON body for this channel (the model renamed when mapped or defaulted)."""
    provider = provider_for(channel.type)
    payload, _ = build_payload(
        job.raw, job.mode, False, channel, provider, upstream_model, job.state.settings
    )
    return payload


def form_payload(form: Multipart, model_field: str | None, upstream_model: str) -> bytes:
    """The client's multipart bytes, with the model field set to what the channel serves."""
    if model_field == upstream_model:
        return form.raw
    return form.with_field("model", upstream_model)


async def open_upstream(
    job: Job, channel: Channel, upstream_model: str, data: bytes, content_type: str
) -> UpstreamResponse:
    """POST `data` (JSON or multipart) to the channel; a non-2xx answer becomes the upstream's error."""
    return await send(job, channel, upstream_model, data, content_type=content_type)


def json_of(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def client_view(data: bytes, obj: Any, job: Job, upstream_model: str) -> bytes:
    """The answer as the client sees it: a mapped model name replaced by the one it asked for."""
    if isinstance(obj, dict) and upstream_model != job.model and "model" in obj:
        obj["model"] = job.model
        return orjson.dumps(obj)
    return data


Charge = Callable[[Price, float], int]  # (served model's price, group ratio) → quota


def finish(job: Job, channel: Channel, upstream_model: str, usage: Usage, charge: Charge) -> None:
    """Settle what `charge` asks at the served model's price; queue the consume log row."""
    price = price_for(job.state, upstream_model, channel)
    ratio = group_ratio(job.identity.user.group, job.state.options.ratios("GroupRatio"))
    settle_quota(job, channel, upstream_model, usage, charge(price, ratio), price, ratio)


def passthrough(resp: UpstreamResponse, data: bytes) -> Response:
    return Response(
        data, status_code=resp.status, media_type=resp.headers.get("Content-Type") or "application/json"
    )
