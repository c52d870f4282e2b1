"""The `/v1/*` route table: plain Starlette endpoints reading raw bytes (no validation layer)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from oneapi.relay import audio, images, rerank
from oneapi.relay.billing_routes import BILLING_ROUTES
from oneapi.relay.claude_inbound import CLAUDE_ROUTES
from oneapi.relay.conversation import chat_completions
from oneapi.relay.errors import RelayError
from oneapi.relay.models_routes import MODEL_ROUTES
from oneapi.relay.modes import Mode
from oneapi.relay.pipeline import identify, relay_json, request_id_of
from oneapi.relay.proxy import PROXY_ROUTES
from oneapi.relay.responses_inbound import RESPONSES_ROUTES


def _json_endpoint(mode: Mode):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        return await relay_json(request, mode, request.path_params.get("model", ""))

    endpoint.__name__ = f"relay_{mode.value}"
    return endpoint


async def not_implemented(request: Request) -> Response:
    """The key is checked first: a bad key gets its 401, a good one learns the API is missing."""
    try:
        await identify(request, request.app.state.oneapi)
    except RelayError as err:
        return err.response(request_id_of(request))
    return RelayError(501, "API not implemented", "api_not_implemented").response(request_id_of(request))


RELAY_ROUTES = [
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/completions", _json_endpoint(Mode.COMPLETIONS), methods=["POST"]),
    Route("/v1/embeddings", _json_endpoint(Mode.EMBEDDINGS), methods=["POST"]),
    Route("/v1/engines/{model:path}/embeddings", _json_endpoint(Mode.EMBEDDINGS), methods=["POST"]),
    Route("/v1/moderations", _json_endpoint(Mode.MODERATIONS), methods=["POST"]),
    Route("/v1/images/generations", images.generations, methods=["POST"]),
    Route("/v1/images/edits", images.edits, methods=["POST"]),
    Route("/v1/audio/transcriptions", audio.transcriptions, methods=["POST"]),
    Route("/v1/audio/translations", audio.translations, methods=["POST"]),
    Route("/v1/audio/speech", audio.speech, methods=["POST"]),
    Route("/v1/rerank", rerank.rerank, methods=["POST"]),
    Route("/v2/rerank", rerank.rerank, methods=["POST"]),
    Route("/v1/images/variations", not_implemented, methods=["POST"]),
    Route("/v1/files{rest:path}", not_implemented, methods=["GET", "POST", "DELETE"]),
    Route("/v1/fine_tuning/jobs{rest:path}", not_implemented, methods=["GET", "POST", "DELETE"]),
    Route("/v1/assistants{rest:path}", not_implemented, methods=["GET", "POST", "DELETE"]),
    Route("/v1/threads{rest:path}", not_implemented, methods=["GET", "POST", "DELETE"]),
    Route("/v1/models/{model:path}", not_implemented, methods=["DELETE"]),
]
RELAY_ROUTES += [*MODEL_ROUTES, *BILLING_ROUTES, *PROXY_ROUTES]
RELAY_ROUTES += CLAUDE_ROUTES
RELAY_ROUTES += RESPONSES_ROUTES
