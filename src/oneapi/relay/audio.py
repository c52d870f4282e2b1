"""`/v1/audio/transcriptions`, `/v1/audio/translations` (multipart) and `/v1/audio/speech` (SPEC §5.7).

Speech-to-text forwards the client's multipart bytes and answers the upstream's body unchanged
in whatever `response_format` was asked; it is billed by audio duration. Text-to-speech is
billed by input characters, and its audio is streamed back chunk by chunk as it arrives.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import aiohttp
from starlette.requests import Request
from starlette.responses import Response

from oneapi.relay.audio_length import measured_seconds, reported_seconds
from oneapi.relay.channel import Channel
from oneapi.relay.errors import RelayError
from oneapi.relay.media import (
    Incoming,
    finish,
    form_payload,
    json_of,
    json_payload,
    model_of,
    open_upstream,
    parse_json,
    passthrough,
    relay_media,
)
from oneapi.relay.modes import Mode
from oneapi.relay.multipart import parse_multipart
from oneapi.relay.pipeline import Job
from oneapi.relay.streaming import RelayStreamingResponse
from oneapi.relay.upstream_send import read_all
from oneapi.services.pricing import DEFAULT_AUDIO_TOKENS_PER_SECOND, Price, Usage, stt_quota, tts_quota

DEFAULT_STT_MODEL = "whisper-1"
MAX_SPEECH_INPUT = 4096


def _parse_audio(raw: bytes, content_type: str) -> Incoming:
    form = parse_multipart(raw, content_type)
    files = form.files("file")
    if not files:
        raise RelayError(400, "file is required", "invalid_request")
    fields = form.fields()
    incoming = Incoming(raw=raw, body=dict(fields), model=fields.get("model") or DEFAULT_STT_MODEL, form=form)
    incoming.notes["seconds"] = measured_seconds(form.content(files[0]), files[0].filename or "")
    return incoming


def _stt_quote(incoming: Incoming, model: str, price: Price, ratio: float) -> int:
    return stt_quota(incoming.notes["seconds"], price, ratio)


async def _transcribe(job: Job, channel: Channel, incoming: Incoming) -> Response:
    assert incoming.form is not None
    upstream_model = channel.upstream_model(job.model)
    payload = form_payload(incoming.form, incoming.body.get("model"), upstream_model)
    resp = await open_upstream(job, channel, upstream_model, payload, incoming.form.content_type)
    data = await read_all(resp)
    seconds = reported_seconds(json_of(data))
    if seconds is None:
        seconds = incoming.notes["seconds"]
    tokens = math.ceil(round(seconds * DEFAULT_AUDIO_TOKENS_PER_SECOND, 6))
    usage = Usage(prompt_tokens=tokens, completion_tokens=0)
    finish(job, channel, upstream_model, usage, lambda price, ratio: stt_quota(seconds, price, ratio))
    return passthrough(resp, data)


def _parse_speech(raw: bytes, content_type: str) -> Incoming:
    body = parse_json(raw)
    text = body.get("input")
    if not isinstance(text, str) or not text:
        raise RelayError(400, "input is required", "invalid_request")
    if len(text) > MAX_SPEECH_INPUT:
        raise RelayError(
            400,
            f"input is too long: {len(text)} characters, the limit is {MAX_SPEECH_INPUT}",
            "text_too_long",
        )
    return Incoming(raw=raw, body=body, model=model_of(body))


def _speech_quote(incoming: Incoming, model: str, price: Price, ratio: float) -> int:
    return tts_quota(len(incoming.body["input"]), price, ratio)


async def _speak(job: Job, channel: Channel, incoming: Incoming) -> Response:
    upstream_model = channel.upstream_model(job.model)
    payload = json_payload(job, channel, upstream_model)
    resp = await open_upstream(job, channel, upstream_model, payload, "application/json")
    # The price depends on the input alone: settled once the upstream has accepted the request.
    characters = len(incoming.body["input"])
    usage = Usage(prompt_tokens=characters, completion_tokens=0)
    finish(job, channel, upstream_model, usage, lambda price, ratio: tts_quota(characters, price, ratio))

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in resp.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError):
            return  # the status line is sent: the client sees a short body
        finally:
            resp.close()

    return RelayStreamingResponse(
        relay(),
        status_code=resp.status,
        media_type=resp.headers.get("Content-Type") or "application/octet-stream",
    )


async def transcriptions(request: Request) -> Response:
    return await relay_media(request, Mode.AUDIO_TRANSCRIPTION, _parse_audio, _stt_quote, _transcribe)


async def translations(request: Request) -> Response:
    return await relay_media(request, Mode.AUDIO_TRANSLATION, _parse_audio, _stt_quote, _transcribe)


async def speech(request: Request) -> Response:
    return await relay_media(request, Mode.AUDIO_SPEECH, _parse_speech, _speech_quote, _speak)
