"""OpenAI Responses content, output items, usage and response objects ⇄ IR (SPEC §6.6, §6.7).

Requests are in `openai_responses_request`, streams in `openai_responses_stream`; both build on
the conversions here.

- A reasoning item is one `ThinkingPart`: its summary texts joined by a blank line (or, when it
  has no summary, its `reasoning_text` content, as open-weight models send) with
  `encrypted_content` as the signature. Redacted thinking has no Responses form.
- A `message` item's `output_text` (and `refusal`) parts are text parts; `function_call` items are
  tool calls whose id is the `call_id`. Other output items (built-in tool calls) are left out.
- Status: `incomplete` with reason `max_output_tokens` is max_tokens, `content_filter` the
  content filter; `completed` is end_turn, or tool_use when the output has function calls.
- Usage: `input_tokens_details.cached_tokens` and `cache_write_tokens` (read as 5-minute writes,
  as Chat's are: the 30-minute / 12-hour split is not kept) and
  `output_tokens_details.reasoning_tokens`.
- A written response has the full shape the official SDK's `Response` type requires; settings
  the caller sent (`instructions`, `tools`, `text`, …) are echoed from its request body.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from oneapi.relay import ir
from oneapi.relay.ir import ConversionError
from oneapi.relay.protocols import fields as f

FORMAT = "openai_responses"

# Request settings a response object repeats, with the value when the request did not set them.
ECHOED: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "reasoning": {"effort": None, "summary": None},
    "service_tier": "default",
    "store": True,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": 1.0,
    "truncation": "disabled",
    "user": None,
}


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


# ---- input content ---------------------------------------------------------------------------


def content_to_parts(content: Any) -> list[ir.Part]:
    """A message item's `content`: a string or an array of typed parts."""
    return f.content_parts(content, _part)


def _part(item: Any) -> ir.Part:
    if not isinstance(item, dict):
        raise ConversionError("content parts must be objects")
    kind = item.get("type")
    if kind in ("input_text", "output_text", "text") and isinstance(item.get("text"), str):
        return ir.TextPart(item["text"])
    if kind == "refusal" and isinstance(item.get("refusal"), str):
        return ir.TextPart(item["refusal"])
    if kind == "input_image":
        detail = item.get("detail")
        detail = detail if isinstance(detail, str) else None
        if isinstance(item.get("image_url"), str):
            return ir.ImagePart.from_url(item["image_url"], detail)
        if isinstance(item.get("file_id"), str):
            return ir.ImagePart(file_id=item["file_id"], detail=detail)
    if kind == "input_file":
        return _file(item)
    if kind == "input_audio":
        audio = item.get("input_audio")
        if isinstance(audio, dict) and isinstance(audio.get("data"), str):
            return ir.AudioPart(audio["data"], str(audio.get("format") or "wav"))
    return ir.TextPart(f.dumps(item))


def _file(item: dict[str, Any]) -> ir.FilePart:
    part = ir.FilePart(
        file_id=item.get("file_id") if isinstance(item.get("file_id"), str) else None,
        url=item.get("file_url") if isinstance(item.get("file_url"), str) else None,
        filename=item.get("filename") if isinstance(item.get("filename"), str) else None,
    )
    data = item.get("file_data")
    if isinstance(data, str):
        parsed = ir.parse_data_url(data)
        if parsed is None:
            part.data = data
        else:
            part.media_type, part.data = parsed
    return part


def parts_to_content(parts: list[ir.Part], *, assistant: bool) -> list[dict[str, Any]]:
    """Typed content parts for a message item; parts a message cannot carry are left out."""
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, ir.TextPart):
            out.append({"type": "output_text" if assistant else "input_text", "text": part.text})
        elif assistant:
            continue
        elif isinstance(part, ir.ImagePart) and (part.data is not None or part.url):
            out.append({"type": "input_image", "image_url": part.as_url(), "detail": part.detail or "auto"})
        elif isinstance(part, ir.ImagePart) and part.file_id:
            out.append({"type": "input_image", "file_id": part.file_id, "detail": part.detail or "auto"})
        elif isinstance(part, ir.AudioPart):
            out.append({"type": "input_audio", "input_audio": {"data": part.data, "format": part.format}})
        elif isinstance(part, ir.FilePart):
            item = _file_out(part)
            if item is not None:
                out.append(item)
    return out


def _file_out(part: ir.FilePart) -> dict[str, Any] | None:
    item: dict[str, Any] = {"type": "input_file"}
    if part.data is not None:
        item["file_data"] = ir.data_url(part.media_type, part.data) if part.media_type else part.data
    if part.url:
        item["file_url"] = part.url
    if part.file_id:
        item["file_id"] = part.file_id
    if len(item) == 1:
        return None
    if part.filename is not None:
        item["filename"] = part.filename
    return item


# ---- output items ----------------------------------------------------------------------------


def reasoning_to_part(item: dict[str, Any]) -> ir.ThinkingPart | None:
    texts = [s.get("text") for s in f.objects(item, "summary") if isinstance(s.get("text"), str)]
    if not texts:
        texts = [c.get("text") for c in f.objects(item, "content") if isinstance(c.get("text"), str)]
    signature = item.get("encrypted_content")
    signature = signature if isinstance(signature, str) and signature else None
    text = "\n\n".join(t for t in texts if t)
    if not text and signature is None:
        return None
    return ir.ThinkingPart(text, signature)


def call_to_part(item: dict[str, Any]) -> ir.ToolCallPart:
    if not isinstance(item.get("name"), str):
        raise ConversionError("function_call.name is required")
    arguments = item.get("arguments")
    if not isinstance(arguments, str):
        arguments = "" if arguments is None else f.dumps(arguments)
    return ir.ToolCallPart(str(item.get("call_id") or item.get("id") or ""), item["name"], arguments)


def output_to_parts(output: list[dict[str, Any]]) -> list[ir.Part]:
    """The IR content of output items (a response's, or consecutive assistant input items)."""
    parts: list[ir.Part] = []
    for item in output:
        kind = item.get("type")
        if kind == "reasoning":
            thinking = reasoning_to_part(item)
            if thinking is not None:
                parts.append(thinking)
        elif kind == "function_call":
            parts.append(call_to_part(item))
        elif kind == "message" or (kind is None and "role" in item):
            parts.extend(content_to_parts(item.get("content")))
    return parts


def reasoning_item(text: str, signature: str | None, *, id: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "reasoning"}
    if id is not None:
        item["id"] = id
    item["summary"] = [{"type": "summary_text", "text": text}] if text else []
    if signature is not None:
        item["encrypted_content"] = signature
    return item


def call_item(call: ir.ToolCallPart, *, id: str | None, status: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "function_call"}
    if id is not None:
        item["id"] = id
    item.update(call_id=call.id, name=call.name, arguments=call.arguments)
    if status is not None:
        item["status"] = status
    return item


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": []}


def message_item(texts: list[str], *, id: str, status: str) -> dict[str, Any]:
    return {
        "id": id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [output_text(text) for text in texts],
    }


def parts_to_output(parts: list[ir.Part]) -> list[dict[str, Any]]:
    """Response output items: reasoning, messages (consecutive texts share one), function calls."""
    output: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, ir.ThinkingPart):
            output.append(reasoning_item(part.text, part.signature, id=new_id("rs")))
        elif isinstance(part, ir.TextPart):
            if output and output[-1]["type"] == "message":
                output[-1]["content"].append(output_text(part.text))
            else:
                output.append(message_item([part.text], id=new_id("msg"), status="completed"))
        elif isinstance(part, ir.ToolCallPart):
            output.append(call_item(part, id=new_id("fc"), status="completed"))
    return output


# ---- usage and status ------------------------------------------------------------------------


def usage_to_ir(usage: dict[str, Any]) -> ir.Usage:
    details = f.sub(usage, "input_tokens_details")
    return ir.Usage(
        input_tokens=_count(usage.get("input_tokens")),
        output_tokens=_count(usage.get("output_tokens")),
        cached_tokens=_count(details.get("cached_tokens")),
        cache_write_5m_tokens=_count(details.get("cache_write_tokens")),
        reasoning_tokens=_count(f.sub(usage, "output_tokens_details").get("reasoning_tokens")),
    )


def usage_from_ir(usage: ir.Usage) -> dict[str, Any]:
    writes = usage.cache_write_5m_tokens + usage.cache_write_1h_tokens
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens, "cache_write_tokens": writes},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def status_to_ir(body: dict[str, Any], *, tool_calls: bool) -> ir.StopReason | None:
    status = body.get("status")
    if status == "incomplete":
        reason = f.sub(body, "incomplete_details").get("reason")
        if reason == "content_filter":
            return ir.StopReason.CONTENT_FILTER
        return ir.StopReason.MAX_TOKENS if reason == "max_output_tokens" else ir.StopReason.OTHER
    if status == "completed":
        return ir.StopReason.TOOL_USE if tool_calls else ir.StopReason.END_TURN
    if status in ("failed", "cancelled"):
        return ir.StopReason.OTHER
    return None


def status_from_ir(reason: ir.StopReason | None) -> tuple[str, dict[str, Any] | None]:
    """The response `status` and `incomplete_details` for a stop reason."""
    if reason is ir.StopReason.MAX_TOKENS:
        return "incomplete", {"reason": "max_output_tokens"}
    if reason is ir.StopReason.CONTENT_FILTER:
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


# ---- responses -------------------------------------------------------------------------------


def response_to_ir(body: dict[str, Any]) -> ir.Response:
    if not isinstance(body, dict):
        raise ConversionError("the response body must be a JSON object")
    content = output_to_parts(f.objects(body, "output"))
    created = body.get("created_at")
    usage = body.get("usage")
    return ir.Response(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        content=content,
        stop_reason=status_to_ir(body, tool_calls=any(isinstance(p, ir.ToolCallPart) for p in content)),
        usage=usage_to_ir(usage) if isinstance(usage, dict) else None,
        created=int(created) if isinstance(created, int | float) and not isinstance(created, bool) else 0,
    )


def response_id(resp_id: str) -> str:
    """The response's own id when it is a Responses one, else a new "resp_…" id."""
    return resp_id if resp_id.startswith("resp_") else new_id("resp")


def response_object(
    *,
    id: str,
    model: str,
    created: int,
    status: str,
    output: list[dict[str, Any]],
    usage: ir.Usage | None,
    request: dict[str, Any] | None,
    incomplete: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A whole Responses object; `request` is the caller's request body, whose settings are echoed."""
    body: dict[str, Any] = {
        "id": id,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "model": model,
        "output": output,
    }
    request = request or {}
    for key, default in ECHOED.items():
        value = request.get(key)
        body[key] = value if value is not None else default
    body["usage"] = usage_from_ir(usage) if usage is not None else None
    return body


def response_from_ir(resp: ir.Response, *, request: dict[str, Any] | None = None) -> dict[str, Any]:
    status, incomplete = status_from_ir(resp.stop_reason)
    return response_object(
        id=response_id(resp.id),
        model=resp.model,
        created=resp.created or int(time.time()),
        status=status,
        output=parts_to_output(resp.content),
        usage=resp.usage,
        request=request,
        incomplete=incomplete,
    )
