"""A fake Gemini upstream: a real aiohttp server on loopback speaking `generateContent`.

`POST /{version}/models/{model}:generateContent` answers a GenerateContentResponse;
`:streamGenerateContent?alt=sse` streams one per SSE frame (`data: …` with CRLF line ends, as
Google sends them), the finish reason and the final usage on the last. A thought part comes first
when the request asks for thoughts (`thinkingConfig.includeThoughts`) or the script says so, and
then the part after the thoughts carries the thought signature; a `functionCall` part (no id, as
the Gemini API sends them) when scripted; JSON text when the request asks for
`application/json`. Usage reports prompt, candidates, thoughts and cached tokens.

Like the real API it refuses, with Google's error shape, what it would refuse: a missing key,
unknown top-level fields, empty or badly-roled contents, function responses that do not answer
the previous turn's calls, schema keys outside Gemini's Schema, `topP` outside [0, 1], a system
instruction for Gemma, a stream request without `alt=sse`. `POST /v1beta/openai/embeddings`
stands for the OpenAI-compatible surface. Requests are recorded in `received`; failures and a
cut connection are scripted per test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.support.threaded_server import ThreadedServer

THOUGHT = "Weighing what the user wants."
THOUGHT_SIGNATURE = "CpwBAdHtim9fake-thought-signature=="
STRUCTURED_REPLY = '{"answer": 42}'
RESPONSE_ID = "gemini-response-1"
_ROUTE = re.compile(r"^/(v1|v1beta|v1alpha)/models/([^/:]+):(generateContent|streamGenerateContent)$")
_TOP_LEVEL = {"contents", "systemInstruction", "tools", "toolConfig", "safetySettings", "generationConfig"}
_HARM = {
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
}
_SCHEMA_KEYS = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example",
    "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
}  # fmt: skip


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class GeminiScript:
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    reply: str = "Hello from Gemini."
    prompt_tokens: int = 12
    candidates_tokens: int = 7
    thoughts_tokens: int = 25  # reported when the answer has thoughts
    cached_tokens: int = 0
    thinking: bool = False  # thoughts even when the request did not ask for them
    tool_call: bool = False
    call_id: str | None = None  # the Gemini API sends calls without one
    finish_reason: str = "STOP"
    stream_pieces: int = 3
    cut: bool = False  # the connection drops after the first text chunk


class FakeGemini(ThreadedServer):
    def __init__(self) -> None:
        super().__init__()
        self.script = GeminiScript()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        _raw, body = await self._record(request)
        if request.path == "/v1beta/openai/embeddings":
            return self._embeddings(request, body)
        match = _ROUTE.match(request.path)
        if request.method != "POST" or match is None:
            return _error(404, f"no route {request.method} {request.path}", "NOT_FOUND")
        if not request.headers.get("x-goog-api-key"):
            return _error(403, "Method doesn't allow unregistered callers.", "PERMISSION_DENIED")
        if self.script.failures:
            status, error = self.script.failures.pop(0)
            return web.json_response(error, status=status)
        model, action = match.group(2), match.group(3)
        stream = action == "streamGenerateContent"
        try:
            if stream and request.query.get("alt") != "sse":
                raise Refused(400, "this fake streams only with alt=sse")
            _validate(body, model)
        except Refused as exc:
            return _error(exc.status, str(exc), "INVALID_ARGUMENT")
        parts, thinking = self._parts(body)
        if stream:
            return await self._stream(request, model, parts, thinking)
        return web.json_response(self._response(model, parts, thinking, final=True))

    # ---- answers -----------------------------------------------------------------------------

    def _parts(self, body: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        s = self.script
        generation = body.get("generationConfig") or {}
        thinking = s.thinking or bool((generation.get("thinkingConfig") or {}).get("includeThoughts"))
        parts: list[dict[str, Any]] = [{"text": THOUGHT, "thought": True}] if thinking else []
        if s.tool_call:
            call: dict[str, Any] = {"name": "get_weather", "args": {"city": "Paris"}}
            if s.call_id:
                call = {"id": s.call_id, **call}
            parts.append({"functionCall": call})
        else:
            json_out = generation.get("responseMimeType") == "application/json"
            parts.append({"text": STRUCTURED_REPLY if json_out else s.reply})
        if thinking:
            parts[1]["thoughtSignature"] = THOUGHT_SIGNATURE
        return parts, thinking

    def _usage(self, thinking: bool, candidates: int) -> dict[str, Any]:
        s = self.script
        usage: dict[str, Any] = {
            "promptTokenCount": s.prompt_tokens,
            "candidatesTokenCount": candidates,
            "totalTokenCount": s.prompt_tokens + candidates + (s.thoughts_tokens if thinking else 0),
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": s.prompt_tokens}],
        }
        if thinking:
            usage["thoughtsTokenCount"] = s.thoughts_tokens
        if s.cached_tokens:
            usage["cachedContentTokenCount"] = s.cached_tokens
        return usage

    def _response(
        self, model: str, parts: list[dict[str, Any]], thinking: bool, *, final: bool, candidates: int = -1
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if final:
            candidate["finishReason"] = self.script.finish_reason
        used = self.script.candidates_tokens if candidates < 0 else candidates
        return {
            "candidates": [candidate],
            "usageMetadata": self._usage(thinking, used),
            "modelVersion": model,
            "responseId": RESPONSE_ID,
        }

    async def _stream(
        self, request: web.Request, model: str, parts: list[dict[str, Any]], thinking: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        chunks: list[list[dict[str, Any]]] = []
        for part in parts:
            if "text" in part and not part.get("thought"):
                pieces = _split(part["text"], self.script.stream_pieces)
                chunks.extend([{**part, "text": piece}] for piece in pieces)
                for later in chunks[len(chunks) - len(pieces) + 1 :]:
                    later[0].pop("thoughtSignature", None)  # only the first piece is signed
            else:
                chunks.append([part])
        for i, chunk_parts in enumerate(chunks):
            final = i == len(chunks) - 1
            share = self.script.candidates_tokens * (i + 1) // len(chunks)
            frame = self._response(model, chunk_parts, thinking, final=final, candidates=share)
            await response.write(b"data: " + orjson.dumps(frame) + b"\r\n\r\n")
            if self.script.cut and "text" in chunk_parts[0] and not chunk_parts[0].get("thought"):
                raise ConnectionResetError("scripted cut")
        await response.write_eof()
        return response

    def _embeddings(self, request: web.Request, body: Any) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _error(401, "missing bearer key", "UNAUTHENTICATED")
        inputs = body.get("input") if isinstance(body, dict) else None
        items = inputs if isinstance(inputs, list) else [inputs]
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                    for i in range(len(items))
                ],
                "model": body.get("model") if isinstance(body, dict) else None,
                "usage": {"prompt_tokens": 4, "total_tokens": 4},
            }
        )


# ---- what the real API refuses -------------------------------------------------------------


def _validate(body: Any, model: str) -> None:
    if not isinstance(body, dict):
        raise Refused(400, "Invalid JSON payload received.")
    for key in body:
        if key not in _TOP_LEVEL:
            raise Refused(400, f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.')
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise Refused(400, "* GenerateContentRequest.contents: contents is not specified")
    if "systemInstruction" in body and model.startswith("gemma"):
        raise Refused(400, f"Developer instruction is not enabled for models/{model}")
    calls = 0
    for i, content in enumerate(contents):
        role = content.get("role")
        if role not in ("user", "model"):
            raise Refused(400, f"Please use a valid role: user, model. (contents[{i}])")
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise Refused(
                400, f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
            )
        responses = sum(1 for p in parts if "functionResponse" in p)
        if calls and responses != calls:
            raise Refused(
                400,
                "Please ensure that the number of function response parts is equal to the number of "
                "function call parts of the function call turn.",
            )
        calls = sum(1 for p in parts if "functionCall" in p) if role == "model" else 0
        for part in parts:
            result = part.get("functionResponse")
            if isinstance(result, dict) and not isinstance(result.get("name"), str):
                raise Refused(400, "functionResponse.name is required")
    for tool in body.get("tools") or []:
        for declaration in tool.get("functionDeclarations") or []:
            if "parameters" in declaration:
                _schema(declaration["parameters"], "parameters")
    generation = body.get("generationConfig") or {}
    if "responseSchema" in generation:
        _schema(generation["responseSchema"], "generation_config.response_schema")
    top_p = generation.get("topP")
    if top_p is not None and not 0 <= top_p <= 1:
        raise Refused(400, "* GenerateContentRequest.generation_config.top_p: must be in the range [0, 1]")
    for setting in body.get("safetySettings") or []:
        if setting.get("category") not in _HARM:
            raise Refused(400, f"Invalid value at 'safety_settings' ({setting.get('category')})")


def _schema(schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        raise Refused(400, f"Invalid value at '{where}'")
    for key, value in schema.items():
        if key not in _SCHEMA_KEYS:
            raise Refused(400, f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}'")
        if key == "properties":
            for name, sub in value.items():
                _schema(sub, f"{where}.properties[{name}]")
        elif key == "items":
            _schema(value, f"{where}.items")
        elif key == "anyOf":
            for sub in value:
                _schema(sub, f"{where}.any_of")


def _error(status: int, message: str, google_status: str) -> web.Response:
    return web.json_response(
        {"error": {"code": status, "message": message, "status": google_status}}, status=status
    )


def _split(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // max(n, 1)))
    return [text[i : i + size] for i in range(0, len(text), size)]


class ImageHost(ThreadedServer):
    """Serves `files[path] = (content type, bytes)` by GET, for remote image URLs; 404 otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, tuple[str, bytes]] = {}

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        found = self.files.get(request.path)
        if request.method != "GET" or found is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=found[1], content_type=found[0])
