"""One relay request's life, in order:

authenticate the key → parse the body → check the model → reserve quota → choose a channel →
call its provider (retrying on the next channel before any byte reached the client) →
relay the answer back (streams chunk by chunk) → settle the real cost, log it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from starlette.requests import Request
from starlette.responses import Response

from oneapi.relay import failures
from oneapi.relay.auth import Identity, authenticate, check_model_allowed
from oneapi.relay.billing import Reservation, Settlement, refund, reserve, settle
from oneapi.relay.channel import Channel
from oneapi.relay.client_options import ClientOptions
from oneapi.relay.errors import RelayError
from oneapi.relay.estimate import (
    UNCOUNTED,
    PromptEstimate,
    max_output_tokens,
    prompt_tokens,
    reservation_waived,
)
from oneapi.relay.metering import count_text
from oneapi.relay.modes import Mode
from oneapi.relay.payload import build_payload
from oneapi.relay.providers.registry import provider_for
from oneapi.relay.routing import choose
from oneapi.relay.runtime import RelayRuntime
from oneapi.relay.sse import SSEDecoder, data_frame
from oneapi.relay.streaming import RelayStreamingResponse
from oneapi.relay.upstream import UpstreamResponse
from oneapi.relay.upstream_errors import is_retryable
from oneapi.relay.upstream_send import read_all, send
from oneapi.relay.usage import StreamUsage, response_text, usage_from
from oneapi.services.pricing import Price, Usage, group_ratio, pre_consume_quota, price_of, text_quota
from oneapi.state import AppState

DEFAULT_MODELS = {
    Mode.MODERATIONS: "text-moderation-stable",
    Mode.IMAGES_GENERATIONS: "dall-e-2",
    Mode.AUDIO_TRANSCRIPTION: "whisper-1",
    Mode.AUDIO_TRANSLATION: "whisper-1",
}
STREAMABLE = {Mode.CHAT, Mode.COMPLETIONS}


@dataclass
class Job:
    """What one request carries through the attempts."""

    state: AppState
    rt: RelayRuntime
    identity: Identity
    mode: Mode
    path: str
    raw: bytes
    body: dict[str, Any]
    model: str
    stream: bool
    request_id: str
    started: float
    prompt_estimate: int
    reservation: Reservation
    system_prompt_reset: bool = False
    tried: list[int] = field(default_factory=list)
    inbound: str = "openai_chat"  # the caller's wire format (conversational endpoints)
    options: ClientOptions = field(default_factory=ClientOptions)
    render_error: Callable[[RelayError, str], Response] = RelayError.response


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def _parse_body(raw: bytes, mode: Mode) -> dict[str, Any]:
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise RelayError(400, f"invalid request body: {exc}", "invalid_text_request") from None
    if not isinstance(body, dict):
        raise RelayError(400, "invalid request body: expected a JSON object", "invalid_text_request")
    return body


async def relay_json(request: Request, mode: Mode, path_model: str = "") -> Response:
    """Entry point for the JSON `/v1/*` endpoints of the OpenAI family."""
    state: AppState = request.app.state.oneapi
    rid = request_id_of(request)
    started = time.perf_counter()
    try:
        identity = await identify(request, state)
        raw = await request.body()
        body = _parse_body(raw, mode)
        model = body.get("model") if isinstance(body.get("model"), str) else ""
        model = model or path_model or DEFAULT_MODELS.get(mode, "")
        if not model:
            raise RelayError(400, "model is required", "invalid_text_request")
        estimate = prompt_tokens(mode, body, model, state.options.get_bool("ApproximateTokenEnabled"))
        job = await admit(
            request,
            identity,
            mode,
            raw,
            body,
            model,
            estimate,
            bool(body.get("stream")) and mode in STREAMABLE,
        )
    except RelayError as err:
        return err.response(rid)
    job.started = started
    return await run(job, call_native)


async def admit(
    request: Request,
    identity: Identity,
    mode: Mode,
    raw: bytes,
    body: dict[str, Any],
    model: str,
    estimate_tokens: int | PromptEstimate,
    stream: bool,
    max_tokens: int | None = None,
) -> Job:
    """Check the model, reserve the pre-consumed quota and build the request's `Job`.

    A `PromptEstimate` is counted only if the reservation depends on it: when its upper bound
    already makes the reservation waived (an ample balance), the job's `prompt_estimate` is left
    UNCOUNTED and `_settle` counts it only if the upstream reports no usage. Deferred only when
    the estimate reads this request's own body and mode, so `_settle` can count it from the job."""
    state: AppState = request.app.state.oneapi
    rt: RelayRuntime = state.relay
    check_model_allowed(identity, model)
    await rt.directory.fresh()
    price = price_of(
        model,
        model_ratio_overrides=state.options.ratios("ModelRatio"),
        completion_ratio_overrides=state.options.ratios("CompletionRatio"),
    )
    ratio = group_ratio(identity.user.group, state.options.ratios("GroupRatio"))
    output = max_output_tokens(body) if max_tokens is None else max_tokens
    allowance = state.options.get_int("PreConsumedQuota")
    if isinstance(estimate_tokens, PromptEstimate):
        prompt, tokens = estimate_tokens, UNCOUNTED
        estimate = pre_consume_quota(prompt.bound(), output, price, ratio, allowance)
        deferrable = prompt.body is body and prompt.mode is mode
        if not (deferrable and reservation_waived(rt.ledger, identity, estimate)):
            tokens = await prompt.count_async()
            estimate = pre_consume_quota(tokens, output, price, ratio, allowance)
    else:
        tokens = estimate_tokens
        estimate = pre_consume_quota(tokens, output, price, ratio, allowance)
    reservation = reserve(rt.ledger, identity, estimate)
    rt.writer.notify()
    path: str = request.scope["path"]
    if "?" in path or "#" in path or "\\" in path:
        path = request.url.path  # escaped as a URL path (building the URL costs ~1% of a request)
    return Job(
        state=state,
        rt=rt,
        identity=identity,
        mode=mode,
        path=path,
        raw=raw,
        body=body,
        model=model,
        stream=stream,
        request_id=request_id_of(request),
        started=time.perf_counter(),
        prompt_estimate=tokens,
        reservation=reservation,
    )


CallUpstream = Callable[["Job", Channel], Awaitable[Response]]


async def run(job: Job, call: CallUpstream) -> Response:
    """Try channels with `call` until one answers; on final failure refund and answer the error."""
    try:
        return await _attempts(job, call)
    except RelayError as err:
        refund(job.rt.ledger, job.reservation)
        job.rt.writer.notify()
        return job.render_error(err, job.request_id)


async def identify(request: Request, state: AppState) -> Identity:
    """Authenticate the relay key of `request` (SPEC §3.1)."""
    client_ip = request.client.host if request.client else ""
    return await authenticate(
        request.headers, client_ip, state.relay.accounts, state.relay.ledger, state.settings.token_key_prefix
    )


def _pick(job: Job, exclude: set[int]) -> Channel | None:
    pinned = job.identity.pinned_channel
    if pinned is not None:
        if pinned in exclude:
            return None
        channel = job.rt.directory.channel(pinned)
        if channel is None:
            raise RelayError(400, f"Invalid Channel Id: {pinned}", "invalid_channel")
        if channel.status != 1:
            raise RelayError(403, "The channel has been disabled", "channel_disabled")
        return channel
    return choose(job.rt.directory.candidates(job.identity.user.group, job.model), exclude)


async def _attempts(job: Job, call: CallUpstream) -> Response:
    budget = job.state.options.get_int("RetryTimes")
    doubled = False
    exclude: set[int] = set()
    last: RelayError | None = None
    while True:
        channel = _pick(job, exclude)
        if channel is None:
            if last is not None:
                raise failures.final_error(last, len(job.tried))
            group = job.identity.user.group
            raise RelayError(
                503, f"No available channels for Model {job.model} under Group {group}", "model_not_found"
            )
        if not await job.state.rate_limits.admit_channel(job.identity.key, channel.id, channel.ratelimit):
            raise RelayError(429, "rate limit exceeded", "rate_limit_exceeded")  # per-channel `ratelimit`
        job.tried.append(channel.id)
        try:
            return await call(job, channel)
        except RelayError as err:
            failures.after_failure(job.state, job.rt, job.identity.user.group, job.model, channel, err)
            last = err
            if job.identity.pinned_channel is not None or not is_retryable(err):
                raise
            if err.status == 429 and budget > 0 and not doubled:
                budget, doubled = budget * 2, True
            if budget <= 0:
                raise failures.final_error(err, len(job.tried)) from None
            budget -= 1
            exclude.add(channel.id)


async def call_native(job: Job, channel: Channel) -> Response:
    provider = provider_for(channel.type)
    upstream_model = channel.upstream_model(job.model)
    payload, reset = build_payload(
        job.raw, job.mode, job.stream, channel, provider, upstream_model, job.state.settings
    )
    job.system_prompt_reset = reset
    resp = await send(job, channel, upstream_model, payload)
    if job.stream:
        return _stream(job, channel, upstream_model, resp)
    data = await read_all(resp)
    return _answer(job, channel, upstream_model, resp.status, resp.headers.get("Content-Type", ""), data)


def _answer(
    job: Job, channel: Channel, upstream_model: str, status: int, content_type: str, data: bytes
) -> Response:
    """The upstream's bytes back to the caller (model renamed if mapped). When they go out as
    they came, reading their usage and settling wait until the answer was handed to the socket
    (`call_soon` runs after this task's step, before any later request is read), which takes
    that work off the caller's latency; nothing is lost, the callback runs whatever the client
    does next."""
    if upstream_model != job.model:
        obj = _settle_answer(job, channel, upstream_model, data)
        if isinstance(obj, dict) and "model" in obj:
            obj["model"] = job.model
            data = orjson.dumps(obj)
    else:
        asyncio.get_running_loop().call_soon(_settle_answer, job, channel, upstream_model, data)
    return Response(data, status_code=status, media_type=content_type or "application/json")


def _settle_answer(job: Job, channel: Channel, upstream_model: str, data: bytes) -> Any:
    """Settle a non-stream answer from its usage (counted locally when it has none); its JSON."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        obj = None
    usage = usage_from(obj)
    if usage is None:
        completion = count_text(response_text(obj), upstream_model) if obj is not None else 0
        usage = Usage(prompt_tokens=job.prompt_estimate, completion_tokens=completion)
    _settle(job, channel, upstream_model, usage)
    return obj


def settle_tokens(job: Job, channel: Channel, upstream_model: str, usage: Usage) -> None:
    """Settle usage read through a protocol converter (cache buckets inside the prompt count)."""
    _settle(job, channel, upstream_model, usage, prompt_excludes_cache=False)


def _stream(job: Job, channel: Channel, upstream_model: str, resp: UpstreamResponse) -> Response:
    watch = StreamUsage()
    decoder = SSEDecoder()
    rename = upstream_model != job.model

    def observe(chunk: bytes) -> None:
        for event in decoder.feed(chunk):
            watch.observe(event.data)

    async def relay() -> AsyncIterator[bytes]:
        pending = b""  # a chunk forwarded but not yet read for usage
        try:
            async for chunk in resp.content.iter_any():
                if rename:
                    events = decoder.feed(chunk)
                    for event in events:
                        watch.observe(event.data)
                    out = _renamed(events, job.model)
                    if out:
                        yield out
                    continue
                pending = chunk
                yield chunk  # forwarded first, read for usage once it is on its way
                pending = b""
                observe(chunk)
            for event in decoder.finish():  # its bytes were already forwarded with the last chunk
                watch.observe(event.data)
                if rename:
                    yield _renamed([event], job.model)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            err = RelayError(
                502, f"upstream stream broke: {exc}", "stream_interrupted", type="upstream_error"
            )
            yield data_frame(orjson.dumps(err.body(job.request_id)))
        finally:
            resp.close()
            if pending:  # the client left right after it: what it was sent is billed all the same
                with contextlib.suppress(ValueError):
                    observe(pending)
            usage = watch.usage or Usage(
                prompt_tokens=job.prompt_estimate, completion_tokens=count_text(watch.text, upstream_model)
            )
            _settle(job, channel, upstream_model, usage)

    return RelayStreamingResponse(
        relay(),
        status_code=200,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _renamed(events: list[Any], model: str) -> bytes:
    """Frames with the client's model name in place of the mapped one."""
    out: list[bytes] = []
    for event in events:
        try:
            obj = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            out.append(event.raw)
            continue
        if isinstance(obj, dict) and "model" in obj:
            obj["model"] = model
            out.append(data_frame(orjson.dumps(obj)))
        else:
            out.append(event.raw)
    return b"".join(out)


def _settle(
    job: Job, channel: Channel, upstream_model: str, usage: Usage, prompt_excludes_cache: bool | None = None
) -> None:
    """Settle a token-billed request at the price of the model the upstream served. Usage read by
    the protocol converters counts cache buckets inside the prompt (`prompt_excludes_cache=False`);
    None keeps the guess for raw OpenAI-shaped usage."""
    options = job.state.options
    if usage.prompt_tokens == UNCOUNTED and job.prompt_estimate == UNCOUNTED:  # no usage: count now
        approximate_only = options.get_bool("ApproximateTokenEnabled")
        job.prompt_estimate = prompt_tokens(job.mode, job.body, job.model, approximate_only).count()
        usage.prompt_tokens = job.prompt_estimate
    price = price_of(
        upstream_model,
        model_ratio_overrides=options.ratios("ModelRatio"),
        completion_ratio_overrides=options.ratios("CompletionRatio"),
        channel_model_configs=channel.model_configs,
    )
    ratio = group_ratio(job.identity.user.group, options.ratios("GroupRatio"))
    excludes = "claude" in upstream_model if prompt_excludes_cache is None else prompt_excludes_cache
    quota = text_quota(usage, price, ratio, prompt_excludes_cache=excludes)
    settle_quota(job, channel, upstream_model, usage, quota, price, ratio)


def settle_quota(
    job: Job, channel: Channel, upstream_model: str, usage: Usage, quota: int, price: Price, ratio: float
) -> None:
    """Charge `quota` (already computed) against the reservation, queue the log and cost rows."""
    settle(
        job.rt.ledger,
        job.reservation,
        job.identity,
        Settlement(
            quota=quota,
            usage=usage,
            price=price,
            group_ratio=ratio,
            model=upstream_model,
            origin_model=job.model,
            channel_id=channel.id,
            is_stream=job.stream,
            elapsed_ms=int((time.perf_counter() - job.started) * 1000),
            request_id=job.request_id,
            system_prompt_reset=job.system_prompt_reset,
        ),
        log_consume=job.state.options.get_bool("LogConsumeEnabled"),
    )
    job.rt.writer.notify()


__all__ = [
    "Job",
    "admit",
    "call_native",
    "identify",
    "relay_json",
    "request_id_of",
    "run",
    "settle_quota",
    "settle_tokens",
]
