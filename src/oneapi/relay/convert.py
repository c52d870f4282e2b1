"""One attempt of a conversational request on one channel: fast lane or conversion (DESIGN §4).

The caller's format (`job.inbound`) and the protocols the channel speaks for the model
(`Provider.protocols`) pick two codecs: the caller's own when the channel speaks it, else the
channel's first. When they are the same the body goes upstream as the caller sent it (only a
mapped model name, the channel's system prompt or a refused parameter rewritten) and the answer
comes back byte for byte, its usage read on the side; OpenAI Chat on an OpenAI channel keeps the
pipeline's own path. Otherwise the request goes inbound → IR → upstream format, and the answer
upstream → IR → inbound format. Responses fields no other protocol can honour (`prompt`
templates, `background`) are refused on a converted request rather than silently dropped.

Reasoning across turns: Claude thinking blocks keep their signatures on the Claude → Anthropic
fast lane (the body is not touched) and through the IR (`ThinkingPart.signature`). Chat has no
field for a signature, so when a Chat caller echoes reasoning back (`reasoning_content`,
`reasoning` or `thinking` on an assistant message) to an Anthropic channel the unsigned thinking
is dropped from the history (Anthropic refuses unsigned thinking blocks); the text and tool calls
of that turn still go. `?thinking=` and `?reasoning_format=` apply to converted requests and
answers. A caller who gives any of those switches leaves the fast lane even on a channel that
speaks its protocol (Chat → IR → Chat), so they mean the same on every channel; without them
the fast lane forwards the body and the reasoning fields as they are.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from oneapi.relay import ir
from oneapi.relay.channel import Channel
from oneapi.relay.client_options import ClientOptions
from oneapi.relay.codecs import ANTHROPIC_MESSAGES, CODECS, OPENAI_CHAT, OPENAI_RESPONSES, Caller, Codec
from oneapi.relay.errors import RelayError
from oneapi.relay.metering import count_text
from oneapi.relay.modes import Mode
from oneapi.relay.pipeline import Job, call_native, settle_tokens
from oneapi.relay.protocols.openai_responses_upgrade import upgrade
from oneapi.relay.providers.base import Provider
from oneapi.relay.providers.registry import provider_for
from oneapi.relay.stream_convert import Settle, relay_stream
from oneapi.relay.upstream_send import read_all, send
from oneapi.services.pricing import Usage

NO_THINKING = ("claude-3-5", "claude-3.5", "claude-2", "claude-instant", "claude-3-haiku", "claude-3-opus")
PROTOCOL_MODES = {
    OPENAI_CHAT: Mode.CHAT,
    OPENAI_RESPONSES: Mode.RESPONSES,
    ANTHROPIC_MESSAGES: Mode.CLAUDE_MESSAGES,
}
RESPONSES_ONLY_FIELDS = {
    "prompt": "prompt templates are not supported for this channel",
    "background": "background responses are not supported for this channel",
}


def caller_of(job: Job) -> Caller:
    return Caller(model=job.model, options=job.options, request=job.body, request_id=job.request_id)


async def call(job: Job, channel: Channel) -> Response:
    """The pipeline's `call` for conversational callers (Chat, Claude Messages, Responses)."""
    provider = provider_for(channel.type)
    upstream_model = channel.upstream_model(job.model)
    spoken = provider.protocols(channel, upstream_model)
    native = job.inbound if job.inbound in spoken else spoken[0]
    fast = native == job.inbound and not job.options.switched
    if fast and native == OPENAI_CHAT:
        return await call_native(job, channel)
    upstream = CODECS.get(native)
    if upstream is None:
        raise RelayError(400, f"channel #{channel.id} speaks {native}, which cannot be converted yet")
    inbound = CODECS[job.inbound]
    mode = PROTOCOL_MODES.get(native, job.mode)
    if fast:
        payload = _fast_lane_body(job, channel, provider, upstream_model, mode)
    else:
        payload = orjson.dumps(await _converted_body(job, channel, provider, upstream, upstream_model, mode))
    resp = await send(
        job,
        channel,
        upstream_model,
        payload,
        headers=provider.inbound_headers(job.options.headers),
        path=provider.path_for(channel, native, upstream_model, job.stream, job.state.settings),
        mode=mode,
    )

    def settle(answer: ir.Response) -> None:
        if native == OPENAI_RESPONSES and answer.id:
            job.rt.response_owners.remember(answer.id, channel.id, job.identity.user.id)
        settle_tokens(job, channel, upstream_model, _billed(job, answer, upstream_model))

    caller = caller_of(job)
    renamed = upstream_model != job.model
    if job.stream:
        return relay_stream(job, caller, resp, upstream, inbound, settle, rename=renamed, passthrough=fast)
    data = await read_all(resp)
    return _answer(caller, upstream, inbound, data, renamed if fast else None, settle)


def _fast_lane_body(job: Job, channel: Channel, provider: Provider, upstream_model: str, mode: Mode) -> bytes:
    """The caller's own bytes when nothing needs rewriting; else its body with the changes."""
    body = dict(job.body)
    changed = body.get("model") != upstream_model
    body["model"] = upstream_model
    if channel.system_prompt and job.inbound == ANTHROPIC_MESSAGES:
        body["system"] = channel.system_prompt
        job.system_prompt_reset = changed = True
    elif channel.system_prompt and job.inbound == OPENAI_RESPONSES:
        body["instructions"] = channel.system_prompt
        job.system_prompt_reset = changed = True
    if mode is Mode.RESPONSES:
        changed |= provider.adjust_body(body, upstream_model, mode, job.state.settings)
    return orjson.dumps(body) if changed else job.raw


async def _converted_body(
    job: Job, channel: Channel, provider: Provider, upstream: Codec, upstream_model: str, mode: Mode
) -> dict[str, Any]:
    if job.inbound == OPENAI_RESPONSES:
        for name, message in RESPONSES_ONLY_FIELDS.items():
            if job.body.get(name):
                raise RelayError(400, message, "invalid_request_error", type="invalid_request_error")
    try:
        req = CODECS[job.inbound].read_request(job.body)
    except ir.ConversionError as exc:
        raise RelayError(400, str(exc), "invalid_request_error", type="invalid_request_error") from None
    req.model = upstream_model
    req.stream = job.stream
    if channel.system_prompt:
        req.system = [ir.TextPart(channel.system_prompt)]
        job.system_prompt_reset = True
    apply_thinking_switch(req, job.options, upstream.name)
    await provider.prepare_request(req, job.rt.http, job.state.settings)
    body = upstream.write_request(req)
    if upstream.name == OPENAI_CHAT and job.stream:
        body["stream_options"] = {"include_usage": True}
    provider.adjust_body(body, upstream_model, mode, job.state.settings)
    if upstream.name == OPENAI_RESPONSES and job.inbound != OPENAI_RESPONSES:
        # store: false, reasoning summary and encrypted content (docs/decisions.md, 2026-11)
        upgrade(body, job.inbound, job.body)
    return body


def apply_thinking_switch(req: ir.Request, options: ClientOptions, upstream: str) -> None:
    """`?thinking=` (SPEC §6.3): turn reasoning on or off unless the body already decided."""
    if options.thinking is None or (req.reasoning is not None and req.reasoning.enabled is not None):
        return
    if not options.thinking:
        req.reasoning = ir.Reasoning(enabled=False)
        return
    if upstream == ANTHROPIC_MESSAGES and any(tag in req.model for tag in NO_THINKING):
        return
    effort = options.reasoning_effort or (req.reasoning.effort if req.reasoning else None)
    req.reasoning = ir.Reasoning(enabled=True, effort=effort)


def _answer(
    caller: Caller, upstream: Codec, inbound: Codec, data: bytes, renamed: bool | None, settle: Settle
) -> Response:
    """The caller's answer: the upstream bytes (model renamed if `renamed`) on the fast lane
    (`renamed` not None), else the answer converted through the IR."""
    try:
        resp = upstream.read_response(orjson.loads(data))
    except (orjson.JSONDecodeError, ir.ConversionError):
        raise RelayError(
            502, "the upstream answered with an unreadable body", "bad_response_body", type="upstream_error"
        ) from None
    settle(resp)
    if renamed is not None:
        if renamed:
            obj = orjson.loads(data)
            obj["model"] = caller.model
            data = orjson.dumps(obj)
        return Response(data, media_type="application/json")
    resp.model = caller.model
    return Response(orjson.dumps(inbound.write_response(resp, caller)), media_type="application/json")


def _text(parts: list[ir.Part]) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, ir.TextPart | ir.ThinkingPart):
            out.append(part.text)
        elif isinstance(part, ir.ToolCallPart):
            out.append(part.name + part.arguments)
    return "".join(out)


def _billed(job: Job, answer: ir.Response, upstream_model: str) -> Usage:
    """The upstream's usage in billing terms; a local count when the upstream reported none."""
    usage = answer.usage
    if usage is None or usage.input_tokens + usage.output_tokens == 0:
        completion = count_text(_text(answer.content), upstream_model)
        return Usage(prompt_tokens=job.prompt_estimate, completion_tokens=completion)
    return Usage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        cache_write_5m_tokens=usage.cache_write_5m_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        reasoning_tokens=usage.reasoning_tokens,
    )
