"""`/v1/rerank` and `/v2/rerank` (Cohere / Jina style): passed through, billed per call (SPEC §5.7).

The request `{model, query, documents, top_n, return_documents}` goes upstream as sent (the model
renamed when mapped); the answer comes back unchanged. The tokens the upstream reports (Jina's
`usage`, Cohere's `meta.tokens` or `meta.billed_units`) are logged; the price is per call.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from oneapi.relay.channel import Channel
from oneapi.relay.errors import RelayError
from oneapi.relay.media import (
    Incoming,
    client_view,
    finish,
    json_of,
    json_payload,
    model_of,
    open_upstream,
    parse_json,
    passthrough,
    relay_media,
)
from oneapi.relay.modes import Mode
from oneapi.relay.pipeline import Job
from oneapi.relay.upstream_send import read_all
from oneapi.relay.usage import usage_from
from oneapi.services.pricing import Price, Usage, per_call_quota


def _parse(raw: bytes, content_type: str) -> Incoming:
    body = parse_json(raw)
    query, documents = body.get("query"), body.get("documents")
    if not isinstance(query, str) or not query:
        raise RelayError(400, "query is required", "invalid_request")
    if not isinstance(documents, list) or not documents:
        raise RelayError(400, "documents must be a non-empty list", "invalid_request")
    return Incoming(raw=raw, body=body, model=model_of(body))


def _quote(incoming: Incoming, model: str, price: Price, ratio: float) -> int:
    return per_call_quota(model, price, ratio)


def rerank_usage(answer: Any) -> Usage:
    """Tokens the upstream reports for a rerank call; zero when it reports none."""
    usage = usage_from(answer)
    if usage is not None:
        return usage
    meta = answer.get("meta") if isinstance(answer, dict) else None
    for section in ("tokens", "billed_units"):
        counts = meta.get(section) if isinstance(meta, dict) else None
        if isinstance(counts, dict) and _count(counts.get("input_tokens")) > 0:
            return Usage(_count(counts.get("input_tokens")), _count(counts.get("output_tokens")))
    return Usage(prompt_tokens=0, completion_tokens=0)


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


async def _call(job: Job, channel: Channel, incoming: Incoming) -> Response:
    upstream_model = channel.upstream_model(job.model)
    payload = json_payload(job, channel, upstream_model)
    resp = await open_upstream(job, channel, upstream_model, payload, "application/json")
    data = await read_all(resp)
    obj = json_of(data)
    finish(job, channel, upstream_model, rerank_usage(obj), lambda p, r: per_call_quota(upstream_model, p, r))
    return passthrough(resp, client_view(data, obj, job, upstream_model))


async def rerank(request: Request) -> Response:
    return await relay_media(request, Mode.RERANK, _parse, _quote, _call)
