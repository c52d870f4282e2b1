"""The conversational endpoints: Chat Completions, Claude Messages and Responses, any channel behind.

The route names the caller's format; with AUTO_DETECT_API_FORMAT a body of another shape is
handled as what it is (SPEC §6.1, the `transparent` action), errors included; with the
`redirect` action the caller gets a 302 to the right endpoint, its query kept. The request is
admitted like any relay request, then each channel attempt goes through `convert.call`.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from oneapi.relay import ir
from oneapi.relay.client_options import client_options
from oneapi.relay.codecs import ANTHROPIC_MESSAGES, CODECS, OPENAI_CHAT, OPENAI_RESPONSES
from oneapi.relay.convert import call
from oneapi.relay.errors import RelayError
from oneapi.relay.estimate import prompt_tokens
from oneapi.relay.modes import Mode
from oneapi.relay.pipeline import admit, identify, request_id_of, run
from oneapi.relay.protocols import openai_chat_request
from oneapi.state import AppState

ENDPOINTS = {
    OPENAI_CHAT: "/v1/chat/completions",
    ANTHROPIC_MESSAGES: "/v1/messages",
    OPENAI_RESPONSES: "/v1/responses",
}
MODES = {OPENAI_CHAT: Mode.CHAT, ANTHROPIC_MESSAGES: Mode.CLAUDE_MESSAGES, OPENAI_RESPONSES: Mode.RESPONSES}
CHAT_ONLY_ROLES = frozenset({"system", "developer", "tool"})
CHAT_ONLY_FIELDS = frozenset(
    {"response_format", "max_completion_tokens", "n", "stream_options", "reasoning_effort"}
)


def detect_format(body: dict[str, Any], route_format: str) -> str:
    """The body's real format. Responses: `input` without `messages`, `instructions` or
    `max_output_tokens`. Claude: top-level `system`, tool_use/tool_result blocks or tools with
    `input_schema`. Chat: system/developer/tool roles, `tool_calls`, function tools, Chat-only
    fields, or no `max_tokens` (Claude requires it). A body with none keeps the route's format."""
    messages = body.get("messages")
    if ("input" in body and messages is None) or "instructions" in body or "max_output_tokens" in body:
        return OPENAI_RESPONSES
    if not isinstance(messages, list):
        return route_format
    tools = (
        [t for t in body.get("tools") or [] if isinstance(t, dict)]
        if isinstance(body.get("tools"), list)
        else []
    )
    if "system" in body or any("input_schema" in t for t in tools):
        return ANTHROPIC_MESSAGES
    chat = any(t.get("type") == "function" for t in tools) or not CHAT_ONLY_FIELDS.isdisjoint(body)
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(block, dict) and block.get("type") in ("tool_use", "tool_result") for block in content
        ):
            return ANTHROPIC_MESSAGES
        chat = chat or message.get("role") in CHAT_ONLY_ROLES or "tool_calls" in message
    if chat or (route_format == ANTHROPIC_MESSAGES and "max_tokens" not in body):
        return OPENAI_CHAT
    return OPENAI_CHAT if route_format == OPENAI_RESPONSES else route_format


def error_renderer(fmt: str):  # type: ignore[no-untyped-def]
    """Errors in the caller's protocol, with the real status."""
    error_body = CODECS[fmt].error_body

    def render(err: RelayError, request_id: str) -> Response:
        return Response(
            orjson.dumps(error_body(err, request_id)), status_code=err.status, media_type="application/json"
        )

    return render


async def relay_conversation(request: Request, route_format: str) -> Response:
    state: AppState = request.app.state.oneapi
    rid = request_id_of(request)
    started = time.perf_counter()
    fmt = route_format
    try:
        identity = await identify(request, state)
        raw = await request.body()
        body = _parse(raw)
        if state.settings.auto_detect_api_format:
            fmt = detect_format(body, route_format)
            if fmt != route_format and state.settings.auto_detect_api_format_action == "redirect":
                query = request.url.query
                return RedirectResponse(ENDPOINTS[fmt] + (f"?{query}" if query else ""), status_code=302)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise RelayError(400, "model is required", "invalid_text_request", type="invalid_request_error")
        if fmt == OPENAI_CHAT:  # read as it is: a fast-lane Chat request never needs the IR
            chat_view, stream, max_tokens = body, body.get("stream") is True, None
        else:
            try:
                req = CODECS[fmt].read_request(body)
            except ir.ConversionError as exc:
                raise RelayError(
                    400, str(exc), "invalid_request_error", type="invalid_request_error"
                ) from None
            chat_view = openai_chat_request.request_from_ir(req)
            stream, max_tokens = req.stream, req.sampling.max_tokens or 0
        approximate = state.options.get_bool("ApproximateTokenEnabled")
        estimate = prompt_tokens(Mode.CHAT, chat_view, model, approximate)
        job = await admit(request, identity, MODES[fmt], raw, body, model, estimate, stream, max_tokens)
    except RelayError as err:
        return error_renderer(fmt)(err, rid)
    job.started = started
    job.inbound = fmt
    job.options = client_options(
        request.query_params if request.scope["query_string"] else {}, request.headers
    )
    job.render_error = error_renderer(fmt)
    return await run(job, call)


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise RelayError(
            400, f"invalid request body: {exc}", "invalid_text_request", type="invalid_request_error"
        ) from None
    if not isinstance(body, dict):
        raise RelayError(
            400,
            "invalid request body: expected a JSON object",
            "invalid_text_request",
            type="invalid_request_error",
        )
    return body


async def chat_completions(request: Request) -> Response:
    return await relay_conversation(request, OPENAI_CHAT)
