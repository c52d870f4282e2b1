"""OpenAI Chat Completions content, usage, finish reasons and responses ⇄ IR.

Requests are in `openai_chat_request`, streams in `openai_chat_stream`; both build on the
conversions here.

- Reasoning text is read from `reasoning_content` (DeepSeek), `reasoning` (OpenRouter) or
  `thinking`, and written to the one field `reasoning_format` names (SPEC §6.3). Chat has no
  place for thinking signatures or redacted thinking.
- Usage: `prompt_tokens_details.cached_tokens` (or DeepSeek's `prompt_cache_hit_tokens`) are
  cache reads; cache writes are read from and written to `prompt_tokens_details.cache_write_tokens`
  (as 5-minute writes: Chat does not split them by lifetime).
- OpenAI refuses a `user` (and a Responses `call_id`) longer than 64 characters; `bounded` turns a
  longer one (Claude Code's `metadata.user_id` is about 150) into a stable digest of that length.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Literal

from oneapi.relay import ir
from oneapi.relay.ir import ConversionError
from oneapi.relay.protocols import fields as f

FORMAT = "openai_chat"
ReasoningFormat = Literal["reasoning_content", "reasoning", "thinking"]
REASONING_FIELDS: tuple[ReasoningFormat, ...] = ("reasoning_content", "reasoning", "thinking")
DEFAULT_REASONING_FORMAT: ReasoningFormat = "reasoning"

FINISH_TO_IR = {
    "stop": ir.StopReason.END_TURN,
    "length": ir.StopReason.MAX_TOKENS,
    "tool_calls": ir.StopReason.TOOL_USE,
    "function_call": ir.StopReason.TOOL_USE,
    "content_filter": ir.StopReason.CONTENT_FILTER,
}
FINISH_FROM_IR = {
    ir.StopReason.END_TURN: "stop",
    ir.StopReason.STOP_SEQUENCE: "stop",
    ir.StopReason.MAX_TOKENS: "length",
    ir.StopReason.TOOL_USE: "tool_calls",
    ir.StopReason.CONTENT_FILTER: "content_filter",
    ir.StopReason.OTHER: "stop",
}


OPENAI_ID_LIMIT = 64


def bounded(value: str, limit: int = OPENAI_ID_LIMIT) -> str:
    """`value` when it fits in `limit` characters, else the first `limit` hex digits of its SHA-256:
    the same long value always gives the same short one (a call and its result keep matching)."""
    if len(value) <= limit:
        return value
    return hashlib.sha256(value.encode()).hexdigest()[:limit]


def finish_to_ir(value: Any) -> ir.StopReason | None:
    if not isinstance(value, str) or not value:
        return None
    return FINISH_TO_IR.get(value, ir.StopReason.OTHER)


def content_to_parts(content: Any) -> list[ir.Part]:
    """A message `content`: a string or an array of typed parts."""
    return f.content_parts(content, _part)


def _part(item: Any) -> ir.Part:
    if not isinstance(item, dict):
        raise ConversionError("content parts must be objects")
    kind = item.get("type")
    cache = item.get("cache_control")
    if kind == "text" and isinstance(item.get("text"), str):
        return ir.TextPart(item["text"], cache_control=cache)
    if kind == "refusal" and isinstance(item.get("refusal"), str):
        return ir.TextPart(item["refusal"])
    if kind == "image_url":
        image = item.get("image_url")
        if isinstance(image, str):
            image = {"url": image}
        if isinstance(image, dict) and isinstance(image.get("url"), str):
            part = ir.ImagePart.from_url(image["url"], image.get("detail"))
            part.cache_control = cache
            return part
    if kind == "input_audio":
        audio = item.get("input_audio")
        if isinstance(audio, dict) and isinstance(audio.get("data"), str):
            return ir.AudioPart(audio["data"], str(audio.get("format") or "wav"))
    if kind == "file" and isinstance(item.get("file"), dict):
        return _file_part(item["file"], cache)
    return ir.TextPart(f.dumps(item))


def _file_part(file: dict[str, Any], cache: dict[str, Any] | None) -> ir.FilePart:
    part = ir.FilePart(file_id=file.get("file_id"), filename=file.get("filename"), cache_control=cache)
    data = file.get("file_data")
    if isinstance(data, str):
        parsed = ir.parse_data_url(data)
        if parsed is None:
            part.data = data
        else:
            part.media_type, part.data = parsed
    return part


def assistant_parts(message: dict[str, Any]) -> list[ir.Part]:
    """An assistant message (request history or response): reasoning first, then text, then calls."""
    parts: list[ir.Part] = []
    for name in REASONING_FIELDS:
        value = message.get(name)
        if isinstance(value, str) and value:
            parts.append(ir.ThinkingPart(value))
            break
    content = message.get("content")
    refusal = message.get("refusal")
    if content is None and isinstance(refusal, str) and refusal:
        content = refusal  # a refusal is shown as the answer's text
    parts.extend(content_to_parts(content))
    for i, call in enumerate(f.objects(message, "tool_calls")):
        function = call.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ConversionError(f"tool_calls[{i}].function.name is required")
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = "" if arguments is None else f.dumps(arguments)
        parts.append(ir.ToolCallPart(str(call.get("id") or ""), function["name"], arguments))
    return parts


def assistant_out(parts: list[ir.Part], reasoning_field: str | None) -> dict[str, Any]:
    """An assistant message; `content` is null when there are tool calls and no text."""
    text = "".join(part.text for part in parts if isinstance(part, ir.TextPart))
    calls = [part for part in parts if isinstance(part, ir.ToolCallPart)]
    out: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    thinking = "".join(part.text for part in parts if isinstance(part, ir.ThinkingPart))
    if thinking and reasoning_field:
        out[reasoning_field] = thinking
    if calls:
        out["tool_calls"] = [tool_call_out(call) for call in calls]
    return out


def tool_call_out(call: ir.ToolCallPart) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def parts_to_content(parts: list[ir.Part]) -> str | list[dict[str, Any]]:
    """A lone plain text part is written as a string, anything else as an array of parts."""
    if not parts:
        return ""
    if len(parts) == 1 and isinstance(parts[0], ir.TextPart) and parts[0].cache_control is None:
        return parts[0].text
    out = []
    for part in parts:
        item = _part_out(part)
        if item is not None:
            out.append(item)
    return out


def _part_out(part: ir.Part) -> dict[str, Any] | None:
    item: dict[str, Any]
    if isinstance(part, ir.TextPart):
        item = {"type": "text", "text": part.text}
    elif isinstance(part, ir.ImagePart) and (part.data is not None or part.url):
        image: dict[str, Any] = {"url": part.as_url()}
        if part.detail is not None:
            image["detail"] = part.detail
        item = {"type": "image_url", "image_url": image}
    elif isinstance(part, ir.AudioPart):
        return {"type": "input_audio", "input_audio": {"data": part.data, "format": part.format}}
    elif isinstance(part, ir.FilePart) and (part.data is not None or part.file_id is not None):
        file: dict[str, Any] = {}
        if part.data is not None:
            file["file_data"] = ir.data_url(part.media_type, part.data) if part.media_type else part.data
        if part.file_id is not None:
            file["file_id"] = part.file_id
        if part.filename is not None:
            file["filename"] = part.filename
        item = {"type": "file", "file": file}
    else:
        return None
    cache = getattr(part, "cache_control", None)
    if cache is not None:
        item["cache_control"] = cache
    return item


def response_to_ir(body: dict[str, Any]) -> ir.Response:
    if not isinstance(body, dict):
        raise ConversionError("the response body must be a JSON object")
    resp = ir.Response(id=str(body.get("id") or ""), model=str(body.get("model") or ""))
    created = body.get("created")
    resp.created = created if isinstance(created, int) else 0
    choices = body.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        choice = choices[0]
        message = choice.get("message")
        if isinstance(message, dict):
            resp.content = assistant_parts(message)
        resp.stop_reason = finish_to_ir(choice.get("finish_reason"))
    usage = body.get("usage")
    if isinstance(usage, dict):
        resp.usage = usage_to_ir(usage)
    return resp


def response_from_ir(
    resp: ir.Response, *, reasoning_format: ReasoningFormat = DEFAULT_REASONING_FORMAT
) -> dict[str, Any]:
    message = assistant_out(resp.content, reasoning_format)
    body: dict[str, Any] = {
        "id": resp.id,
        "object": "chat.completion",
        "created": resp.created or int(time.time()),
        "model": resp.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": FINISH_FROM_IR[resp.stop_reason] if resp.stop_reason else None,
            }
        ],
    }
    if resp.usage is not None:
        body["usage"] = usage_from_ir(resp.usage)
    return body


def usage_to_ir(usage: dict[str, Any]) -> ir.Usage:
    prompt = usage.get("prompt_tokens_details")
    prompt = prompt if isinstance(prompt, dict) else {}
    completion = usage.get("completion_tokens_details")
    completion = completion if isinstance(completion, dict) else {}
    cached = _count(prompt.get("cached_tokens")) or _count(usage.get("prompt_cache_hit_tokens"))
    return ir.Usage(
        input_tokens=_count(usage.get("prompt_tokens")),
        output_tokens=_count(usage.get("completion_tokens")),
        cached_tokens=cached,
        cache_write_5m_tokens=_count(prompt.get("cache_write_tokens")),
        reasoning_tokens=_count(completion.get("reasoning_tokens")),
    )


def usage_from_ir(usage: ir.Usage) -> dict[str, Any]:
    prompt: dict[str, int] = {"cached_tokens": usage.cached_tokens}
    writes = usage.cache_write_5m_tokens + usage.cache_write_1h_tokens
    if writes:
        prompt["cache_write_tokens"] = writes
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": prompt,
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
