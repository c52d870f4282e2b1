"""A fake upstream for images, audio and rerank, on top of the fake OpenAI chat upstream.

Multipart bodies are read with the standard library's email parser (not the relay's own parser),
so a test sees the fields and file bytes exactly as a real upstream would. Speech is streamed in
chunks and can be held after its first chunk (`media.speech_gate`) to prove the relay does not
buffer it.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from tests.support.fake_openai import FakeOpenAI
from tests.support.threaded_server import Received

MEDIA_PATHS = (
    "/images/generations",
    "/images/edits",
    "/audio/transcriptions",
    "/audio/translations",
    "/audio/speech",
    "/rerank",
)


@dataclass
class Form:
    """A multipart body as the upstream read it."""

    fields: dict[str, str]
    files: dict[str, list[tuple[str, str, bytes]]]  # name → [(filename, content type, bytes)]
    raw: bytes


@dataclass
class MediaScript:
    transcript: str = "hello from the fake whisper"
    duration: float = 12.5  # seconds, reported in verbose_json answers
    speech_size: int = 1 << 20
    speech_chunk: int = 64 * 1024
    speech_gate: threading.Event | None = None  # when set up, speech waits for it after one chunk
    rerank_tokens: int = 42


def speech_audio(size: int) -> bytes:
    """The fake's speech: `size` bytes of a fixed pseudo-random pattern (any reordering shows)."""
    return random.Random(7).randbytes(size)


def parse_form(raw: bytes, content_type: str) -> Form:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    fields: dict[str, str] = {}
    files: dict[str, list[tuple[str, str, bytes]]] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        filename = part.get_filename()
        if filename is None:
            fields[name] = payload.decode()
        else:
            files.setdefault(name, []).append((filename, part.get_content_type(), payload))
    return Form(fields=fields, files=files, raw=raw)


class FakeMedia(FakeOpenAI):
    def __init__(self) -> None:
        super().__init__()
        self.media = MediaScript()
        self.finished_speeches = 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if not request.path.endswith(MEDIA_PATHS):
            return await super()._handle(request)
        raw = await request.read()
        content_type = request.headers.get("Content-Type", "")
        body: Any = (
            parse_form(raw, content_type) if content_type.startswith("multipart/") else orjson.loads(raw)
        )
        self.received.append(
            Received(request.method, request.path, request.query_string, dict(request.headers), body)
        )
        if self.script.delay:
            await asyncio.sleep(self.script.delay)
        if self.script.failures:
            status, error = self.script.failures.pop(0)
            return web.json_response(error, status=status)
        path = request.path
        if path.endswith("/audio/speech"):
            return await self._speech(request)
        if path.endswith("/rerank"):
            return web.json_response(self._rerank(body, cohere=path.startswith("/v2")))
        if path.startswith("/v1/audio/"):
            return self._transcript(body, translate=path.endswith("/translations"))
        fields = body.fields if isinstance(body, Form) else body
        n = int(fields.get("n") or 1)
        images = [
            {"url": f"https://images.example/{i}.png", "revised_prompt": fields["prompt"]} for i in range(n)
        ]
        return web.json_response({"created": int(time.time()), "data": images})

    def _transcript(self, form: Form, translate: bool) -> web.Response:
        m = self.media
        end = f"00:00:{m.duration:06.3f}"
        answer = {
            "json": ("application/json", orjson.dumps({"text": m.transcript})),
            "text": ("text/plain; charset=utf-8", m.transcript.encode()),
            "srt": (
                "text/plain; charset=utf-8",
                f"1\n00:00:00,000 --> {end.replace('.', ',')}\n{m.transcript}\n\n".encode(),
            ),
            "vtt": (
                "text/vtt; charset=utf-8",
                f"WEBVTT\n\n00:00:00.000 --> {end}\n{m.transcript}\n\n".encode(),
            ),
            "verbose_json": (
                "application/json",
                orjson.dumps(
                    {
                        "task": "translate" if translate else "transcribe",
                        "language": "english",
                        "duration": m.duration,
                        "text": m.transcript,
                        "segments": [],
                    }
                ),
            ),
        }
        content_type, data = answer[form.fields.get("response_format") or "json"]
        return web.Response(body=data, headers={"Content-Type": content_type})

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        m = self.media
        audio = speech_audio(m.speech_size)
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        await response.prepare(request)
        for offset in range(0, len(audio), m.speech_chunk):
            await response.write(audio[offset : offset + m.speech_chunk])
            while offset == 0 and m.speech_gate is not None and not m.speech_gate.is_set():
                await asyncio.sleep(0.01)
        await response.write_eof()
        self.finished_speeches += 1
        return response

    def _rerank(self, body: dict[str, Any], cohere: bool) -> dict[str, Any]:
        documents = body["documents"]
        top = body.get("top_n") or len(documents)
        results: list[dict[str, Any]] = []
        for i, doc in enumerate(documents[:top]):
            result: dict[str, Any] = {"index": i, "relevance_score": round(1 - i / 10, 2)}
            if body.get("return_documents"):
                result["document"] = {"text": doc}
            results.append(result)
        if cohere:
            meta = {"billed_units": {"search_units": 1}, "tokens": {"input_tokens": self.media.rerank_tokens}}
            return {"id": "rerank-1", "results": results, "meta": meta}
        return {
            "model": body["model"],
            "results": results,
            "usage": {"total_tokens": self.media.rerank_tokens},
        }
