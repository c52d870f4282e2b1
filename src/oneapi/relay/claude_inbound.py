"""`POST /v1/messages` (Claude Messages, SPEC §6.5) and the Claude Code path prefixes (§1.1).

The key comes from `x-api-key` or a Bearer header (relay/keys.py reads both); errors use
Anthropic's shape `{"type":"error","error":{"type","message"}}` with the real status.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from oneapi.relay.codecs import ANTHROPIC_MESSAGES
from oneapi.relay.conversation import relay_conversation

CLAUDE_PATHS = (
    "/v1/messages",
    "/v1/v1/messages",
    "/openai/v1/messages",
    "/openai/v1/v1/messages",
    "/api/v1/v1/messages",
)


async def messages(request: Request) -> Response:
    return await relay_conversation(request, ANTHROPIC_MESSAGES)


CLAUDE_ROUTES = [Route(path, messages, methods=["POST"]) for path in CLAUDE_PATHS]
