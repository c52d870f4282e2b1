"""`/v1/images/generations` (JSON) and `/v1/images/edits` (multipart), billed per image (SPEC §5.7).

The size, count and quality are checked against what the model offers before anything is
reserved, so a request the upstream would refuse costs nothing and reaches no channel. The full
price of the images is reserved first and charged once the upstream has answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from oneapi.relay.channel import Channel
from oneapi.relay.errors import RelayError
from oneapi.relay.media import (
    Incoming,
    client_view,
    finish,
    form_payload,
    json_of,
    json_payload,
    model_of,
    open_upstream,
    parse_json,
    passthrough,
    price_for,
    relay_media,
)
from oneapi.relay.modes import Mode
from oneapi.relay.multipart import parse_multipart
from oneapi.relay.pipeline import Job
from oneapi.relay.upstream import UpstreamResponse
from oneapi.relay.upstream_send import read_all
from oneapi.relay.usage import usage_from
from oneapi.services.pricing import ImageOptionError, Price, Usage, image_quota

DEFAULT_MODEL = "dall-e-2"
MAX_IMAGES = 10
CODE = "invalid_image_request"


@dataclass(frozen=True)
class ImageRules:
    sizes: tuple[str, ...]
    max_n: int
    max_prompt: int
    qualities: tuple[str, ...]


# What OpenAI's dall-e models accept; other models are checked by their price table (sizes, qualities).
RULES = {
    "dall-e-2": ImageRules(("256x256", "512x512", "1024x1024"), 10, 1000, ("standard",)),
    "dall-e-3": ImageRules(("1024x1024", "1792x1024", "1024x1792"), 1, 4000, ("standard", "hd")),
}


def _refuse(message: str) -> RelayError:
    return RelayError(400, message, CODE)


def _count(value: Any) -> int:
    """The `n` field (an int in JSON, a string in a form); missing means 1."""
    if value is None or value == "":
        return 1
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _refuse("n must be an integer")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def validate(model: str, body: dict[str, Any]) -> int:
    """Refuse a prompt, size, n or quality the model does not take; the number of images."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _refuse("prompt is required")
    n = _count(body.get("n"))
    size, quality = _text(body.get("size")), _text(body.get("quality"))
    rules = RULES.get(model.strip().lower())
    if rules is None:
        if not 1 <= n <= MAX_IMAGES:
            raise _refuse(f"n must be between 1 and {MAX_IMAGES}")
        return n
    if rules.max_n == 1 and n != 1:
        raise _refuse(f"{model} only supports n=1")
    if not 1 <= n <= rules.max_n:
        raise _refuse(f"n must be between 1 and {rules.max_n} for {model}")
    if size and size not in rules.sizes:
        raise _refuse(f"size {size} is not supported by {model}; use one of {', '.join(rules.sizes)}")
    if quality and quality not in rules.qualities:
        raise _refuse(f"quality {quality} is not supported by {model}; use {' or '.join(rules.qualities)}")
    if len(prompt) > rules.max_prompt:
        raise _refuse(f"prompt is too long for {model} (max {rules.max_prompt} characters)")
    return n


def quote(incoming: Incoming, model: str, price: Price, ratio: float) -> int:
    body = incoming.body
    n = validate(model, body)
    try:
        return image_quota(
            model,
            size=_text(body.get("size")) or None,
            quality=_text(body.get("quality")) or None,
            n=n,
            price=price,
            group_ratio=ratio,
        )
    except ImageOptionError as exc:
        raise _refuse(str(exc)) from None


def _parse_generation(raw: bytes, content_type: str) -> Incoming:
    body = parse_json(raw)
    return Incoming(raw=raw, body=body, model=model_of(body) or DEFAULT_MODEL)


def _parse_edit(raw: bytes, content_type: str) -> Incoming:
    form = parse_multipart(raw, content_type)
    if not form.files("image", "image[]"):
        raise _refuse("image is required")
    fields: dict[str, Any] = dict(form.fields())
    return Incoming(raw=raw, body=fields, model=fields.get("model") or DEFAULT_MODEL, form=form)


def _charge(job: Job, incoming: Incoming, upstream_model: str, price: Price, ratio: float) -> int:
    """The images at the served model's price; at the asked model's when the served one has no
    price for that size (a mapping to a differently sized model)."""
    try:
        return quote(incoming, upstream_model, price, ratio)
    except RelayError:
        return quote(incoming, job.model, price_for(job.state, job.model), ratio)


async def _generate(job: Job, channel: Channel, incoming: Incoming) -> Response:
    upstream_model = channel.upstream_model(job.model)
    payload = json_payload(job, channel, upstream_model)
    resp = await open_upstream(job, channel, upstream_model, payload, "application/json")
    return _answer(job, channel, incoming, upstream_model, resp, await read_all(resp))


async def _edit(job: Job, channel: Channel, incoming: Incoming) -> Response:
    assert incoming.form is not None
    upstream_model = channel.upstream_model(job.model)
    payload = form_payload(incoming.form, incoming.body.get("model"), upstream_model)
    resp = await open_upstream(job, channel, upstream_model, payload, incoming.form.content_type)
    return _answer(job, channel, incoming, upstream_model, resp, await read_all(resp))


def _answer(
    job: Job, channel: Channel, incoming: Incoming, upstream_model: str, resp: UpstreamResponse, data: bytes
) -> Response:
    obj = json_of(data)
    usage = usage_from(obj) or Usage(prompt_tokens=0, completion_tokens=0)
    finish(job, channel, upstream_model, usage, lambda p, r: _charge(job, incoming, upstream_model, p, r))
    return passthrough(resp, client_view(data, obj, job, upstream_model))


async def generations(request: Request) -> Response:
    return await relay_media(request, Mode.IMAGES_GENERATIONS, _parse_generation, quote, _generate)


async def edits(request: Request) -> Response:
    return await relay_media(request, Mode.IMAGES_EDITS, _parse_edit, quote, _edit)
