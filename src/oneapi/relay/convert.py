"""One attempt of a conversational request on one channel: fast lane or conversion (DESIGN §4).

The caller's format (`job.inbound`) and the channel's native protocol pick two codecs. When they
are the same the body goes upstream as the caller sent it (only a mapped model name or the
channel's system prompt rewritten) and the answer comes back byte for byte, its usage read on the
side; OpenAI Chat on an OpenAI channel keeps the pipeline's own path. Otherwise the request goes
inbound → IR → upstream format, and the answer upstream → IR → inbound format.

Reasoning across turns: Claude thinking blocks keep their signatures on the Claude → Anthropic
fast lane (the body is not touched) and through the IR (`ThinkingPart.signature`). Chat has no
field for a signature, so when a Chat caller echoes reasoning back (`reasoning_content`,
`reasoning` or `thinking` on an assistant message) to an Anthropic channel the unsigned thinking
is dropped from the history (Anthropic refuses unsigned thinking blocks); the text and tool calls
of that turn still go. `?thinking=` and `?reasoning_format=` apply to converted requests and
answers; the Chat → OpenAI fast lane forwards the body and the reasoning fields as they are.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from oneapi.relay import ir
from oneapi.relay.channel import Channel
from oneapi.relay.client_options import ClientOptions
from oneapi.relay.codecs import ANTHROPIC_MESSAGES, CODECS, OPENAI_CHAT, Codec
from oneapi.relay.errors import RelayError
from oneapi.relay.metering import count_text
from oneapi.relay.modes import Mode
from oneapi.relay.pipeline import Job, call_native, settle_tokens
from oneapi.relay.providers.registry import provider_for
from oneapi.relay.stream_convert import relay_stream
from oneapi.relay.upstream_send import read_all, send
from oneapi.services.pricing import Usage

UPSTREAM_PATHS = {OPENAI_CHAT: "/v1/chat/completions", ANTHROPIC_MESSAGES: "/v1/messages"}
NO_THINKING = ("claude-3-5", "claude-3.5", "claude-2", "claude-instant", "claude-3-haiku", "claude-3-opus")


async def call(job: Job, channel: Channel) -> Response:
    """The pipeline's `call` for Chat and Claude Messages callers."""
    provider = provider_for(channel.type)
    native = provider.native_protocol
    if job.inbound == OPENAI_CHAT and native == OPENAI_CHAT:
        return await call_native(job, channel)
    upstream = CODECS.get(native)
    if upstream is None:
        raise RelayError(400, f"channel #{channel.id} speaks {native}, which cannot be converted yet")
    inbound = CODECS[job.inbound]
    upstream_model = channel.upstream_model(job.model)
    if upstream is inbound:
        payload = _fast_lane_body(job, channel, upstream_model)
    else:
        payload = orjson.dumps(_converted_body(job, channel, upstream, upstream_model))
    resp = await send(
        job,
        channel,
        upstream_model,
        payload,
        headers=provider.inbound_headers(job.options.headers),
        path=UPSTREAM_PATHS.get(native),
        mode=Mode.CHAT if native == OPENAI_CHAT else job.mode,
    )

    def settle(usage: ir.Usage | None, text: str) -> None:
        settle_tokens(job, channel, upstream_model, _billed(job, usage, text, upstream_model))

    if job.stream:
        return relay_stream(job, resp, upstream, inbound, settle, rename=upstream_model != job.model)
    data = await read_all(resp)
    return _answer(job, upstream, inbound, data, upstream_model != job.model, settle)


def _fast_lane_body(job: Job, channel: Channel, upstream_model: str) -> bytes:
    changed = job.body.get("model") != upstream_model
    body = dict(job.body)
    body["model"] = upstream_model
    if channel.system_prompt and job.inbound == ANTHROPIC_MESSAGES:
        body["system"] = channel.system_prompt
        job.system_prompt_reset = changed = True
    return orjson.dumps(body) if changed else job.raw


def _converted_body(job: Job, channel: Channel, upstream: Codec, upstream_model: str) -> dict[str, Any]:
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
    body = upstream.write_request(req)
    if upstream.name == OPENAI_CHAT:
        if job.stream:
            body["stream_options"] = {"include_usage": True}
        settings = job.state.settings
        provider_for(channel.type).adjust_body(body, upstream_model, Mode.CHAT, settings)
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
    job: Job,
    upstream: Codec,
    inbound: Codec,
    data: bytes,
    renamed: bool,
    settle: Any,
) -> Response:
    try:
        resp = upstream.read_response(orjson.loads(data))
    except (orjson.JSONDecodeError, ir.ConversionError):
        raise RelayError(
            502, "the upstream answered with an unreadable body", "bad_response_body", type="upstream_error"
        ) from None
    settle(resp.usage, _text(resp.content))
    if upstream is inbound:
        if renamed:
            obj = orjson.loads(data)
            obj["model"] = job.model
            data = orjson.dumps(obj)
        return Response(data, media_type="application/json")
    resp.model = job.model
    if inbound.name == OPENAI_CHAT and not resp.id.startswith("chatcmpl"):
        resp.id = f"chatcmpl-{resp.id}"
    return Response(orjson.dumps(inbound.write_response(resp, job.options)), media_type="application/json")


def _text(parts: list[ir.Part]) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, ir.TextPart | ir.ThinkingPart):
            out.append(part.text)
        elif isinstance(part, ir.ToolCallPart):
            out.append(part.name + part.arguments)
    return "".join(out)


def _billed(job: Job, usage: ir.Usage | None, text: str, upstream_model: str) -> Usage:
    """The upstream's usage in billing terms; a local count when the upstream reported none."""
    if usage is None or usage.input_tokens + usage.output_tokens == 0:
        return Usage(prompt_tokens=job.prompt_estimate, completion_tokens=count_text(text, upstream_model))
    return Usage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        cache_write_5m_tokens=usage.cache_write_5m_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        reasoning_tokens=usage.reasoning_tokens,
    )
