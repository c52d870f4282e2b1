"""Anthropic Messages content blocks, usage, stop reasons and responses ⇄ IR (SPEC §6.4, §6.5).

Requests are in `anthropic_request`, streams in `anthropic_stream`; both build on the block and
usage conversions here.

- Blocks: text, image (base64 / url / file), document (base64 PDF / plain text / url / file),
  tool_use, tool_result, thinking (with signature), redacted_thinking. Other blocks (server tool
  calls and their results, search results, …) become their JSON as text, as SPEC §6.5 says.
- Usage: Anthropic's `input_tokens` leaves out cache reads and writes; the IR counts them in.
  Cache writes come from `cache_creation.ephemeral_5m/1h_input_tokens`, or else
  `cache_creation_input_tokens` as 5-minute writes.
- Stop reasons: `refusal` is the IR's content filter and is written back as `refusal` (the fork
  writes `stop_sequence`); `model_context_window_exceeded` reads as max_tokens; `pause_turn` as
  other, written as `end_turn`.
"""

from __future__ import annotations

import base64
from typing import Any

from oneapi.relay import ir
from oneapi.relay.ir import ConversionError
from oneapi.relay.protocols import fields as f

FORMAT = "anthropic_messages"

STOP_TO_IR = {
    "end_turn": ir.StopReason.END_TURN,
    "max_tokens": ir.StopReason.MAX_TOKENS,
    "model_context_window_exceeded": ir.StopReason.MAX_TOKENS,
    "stop_sequence": ir.StopReason.STOP_SEQUENCE,
    "tool_use": ir.StopReason.TOOL_USE,
    "refusal": ir.StopReason.CONTENT_FILTER,
}
STOP_FROM_IR = {
    ir.StopReason.END_TURN: "end_turn",
    ir.StopReason.MAX_TOKENS: "max_tokens",
    ir.StopReason.STOP_SEQUENCE: "stop_sequence",
    ir.StopReason.TOOL_USE: "tool_use",
    ir.StopReason.CONTENT_FILTER: "refusal",
    ir.StopReason.OTHER: "end_turn",
}


def stop_to_ir(value: Any) -> ir.StopReason | None:
    if not isinstance(value, str) or not value:
        return None
    return STOP_TO_IR.get(value, ir.StopReason.OTHER)


# ---- blocks → parts --------------------------------------------------------------------------


def blocks_to_parts(content: Any) -> list[ir.Part]:
    """A message `content`: a string or an array of blocks."""
    if isinstance(content, str):
        return [ir.TextPart(content)] if content else []
    if not isinstance(content, list):
        raise ConversionError("message content must be a string or an array of content blocks")
    return [block_to_part(block) for block in content]


def block_to_part(block: Any) -> ir.Part:
    if not isinstance(block, dict):
        raise ConversionError("content blocks must be objects")
    kind = block.get("type")
    cache = block.get("cache_control")
    if kind == "text" and isinstance(block.get("text"), str):
        return ir.TextPart(block["text"], cache_control=cache)
    if kind == "image" and isinstance(block.get("source"), dict):
        return _image(block["source"], cache)
    if kind == "document" and isinstance(block.get("source"), dict):
        document = _document(block["source"], block.get("title"), cache)
        if document is not None:
            return document
    if kind == "tool_use" and isinstance(block.get("name"), str):
        arguments = block.get("input")
        return ir.ToolCallPart(
            id=str(block.get("id") or ""),
            name=block["name"],
            arguments=f.dumps(arguments if arguments is not None else {}),
            cache_control=cache,
        )
    if kind == "tool_result":
        content = block.get("content")
        return ir.ToolResultPart(
            call_id=str(block.get("tool_use_id") or ""),
            content=blocks_to_parts(content) if content is not None else [],
            is_error=block.get("is_error") is True,
            cache_control=cache,
        )
    if kind == "thinking" and isinstance(block.get("thinking"), str):
        signature = block.get("signature")
        return ir.ThinkingPart(block["thinking"], signature if isinstance(signature, str) else None)
    if kind == "redacted_thinking" and isinstance(block.get("data"), str):
        return ir.RedactedThinkingPart(block["data"])
    return ir.TextPart(f.dumps(block))


def _image(source: dict[str, Any], cache: dict[str, Any] | None) -> ir.ImagePart:
    kind = source.get("type")
    if kind == "base64":
        return ir.ImagePart(data=source.get("data"), media_type=source.get("media_type"), cache_control=cache)
    if kind == "file":
        return ir.ImagePart(file_id=source.get("file_id"), cache_control=cache)
    return ir.ImagePart(url=source.get("url"), cache_control=cache)


def _document(source: dict[str, Any], title: Any, cache: dict[str, Any] | None) -> ir.FilePart | None:
    part = ir.FilePart(filename=title if isinstance(title, str) else None, cache_control=cache)
    kind = source.get("type")
    data = source.get("data")
    if kind == "base64" and isinstance(data, str):
        part.data, part.media_type = data, source.get("media_type") or "application/pdf"
    elif kind == "text" and isinstance(data, str):
        part.data, part.media_type = base64.b64encode(data.encode()).decode(), "text/plain"
    elif kind == "url" and isinstance(source.get("url"), str):
        part.url = source["url"]
    elif kind == "file" and isinstance(source.get("file_id"), str):
        part.file_id = source["file_id"]
    else:
        return None
    return part


# ---- parts → blocks --------------------------------------------------------------------------


def parts_to_blocks(parts: list[ir.Part], *, for_request: bool) -> list[dict[str, Any]]:
    """Blocks for the parts Anthropic can take. In requests, empty text and thinking without a
    signature are left out (the API rejects both; reasoning from other vendors has none)."""
    blocks = []
    for part in parts:
        block = part_to_block(part, for_request=for_request)
        if block is not None:
            blocks.append(block)
    return blocks


def part_to_block(part: ir.Part, *, for_request: bool) -> dict[str, Any] | None:
    block: dict[str, Any] | None
    if isinstance(part, ir.TextPart):
        block = {"type": "text", "text": part.text} if part.text or not for_request else None
    elif isinstance(part, ir.ThinkingPart):
        if for_request and not part.signature:
            return None
        return {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}
    elif isinstance(part, ir.RedactedThinkingPart):
        return {"type": "redacted_thinking", "data": part.data}
    elif isinstance(part, ir.ToolCallPart):
        block = {
            "type": "tool_use",
            "id": part.id,
            "name": part.name,
            "input": f.loads_object(part.arguments),
        }
    elif isinstance(part, ir.ToolResultPart):
        block = _tool_result_block(part)
    elif isinstance(part, ir.ImagePart):
        block = _image_block(part)
    elif isinstance(part, ir.FilePart):
        block = _document_block(part)
    else:
        return None
    cache = getattr(part, "cache_control", None)
    if block is not None and cache is not None:
        block["cache_control"] = cache
    return block


def _tool_result_block(part: ir.ToolResultPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.call_id}
    content = part.content
    if len(content) == 1 and isinstance(content[0], ir.TextPart) and content[0].cache_control is None:
        block["content"] = content[0].text
    elif content:
        block["content"] = parts_to_blocks(content, for_request=True)
    if part.is_error:
        block["is_error"] = True
    return block


def _image_block(part: ir.ImagePart) -> dict[str, Any] | None:
    if part.data is not None:
        source = {"type": "base64", "media_type": part.media_type or "image/png", "data": part.data}
    elif part.url:
        source = {"type": "url", "url": part.url}
    elif part.file_id:
        source = {"type": "file", "file_id": part.file_id}
    else:
        return None
    return {"type": "image", "source": source}


def _document_block(part: ir.FilePart) -> dict[str, Any] | None:
    text = part.text()
    source: dict[str, Any]
    if text is not None:
        source = {"type": "text", "media_type": "text/plain", "data": text}
    elif part.data is not None:
        source = {"type": "base64", "media_type": part.media_type or "application/pdf", "data": part.data}
    elif part.url:
        source = {"type": "url", "url": part.url}
    elif part.file_id:
        source = {"type": "file", "file_id": part.file_id}
    else:
        return None
    block: dict[str, Any] = {"type": "document", "source": source}
    if part.filename is not None:
        block["title"] = part.filename
    return block


# ---- usage -----------------------------------------------------------------------------------


def usage_to_ir(usage: dict[str, Any]) -> ir.Usage:
    read = _count(usage.get("cache_read_input_tokens"))
    created = _count(usage.get("cache_creation_input_tokens"))
    split = usage.get("cache_creation")
    split = split if isinstance(split, dict) else {}
    write_5m = _count(split.get("ephemeral_5m_input_tokens"))
    write_1h = _count(split.get("ephemeral_1h_input_tokens"))
    if write_5m + write_1h == 0:
        write_5m = created
    details = usage.get("output_tokens_details")
    details = details if isinstance(details, dict) else {}
    return ir.Usage(
        input_tokens=_count(usage.get("input_tokens")) + read + max(created, write_5m + write_1h),
        output_tokens=_count(usage.get("output_tokens")),
        cached_tokens=read,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        reasoning_tokens=_count(details.get("thinking_tokens")),
    )


def usage_from_ir(usage: ir.Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": usage.uncached_input_tokens,
        "cache_creation_input_tokens": usage.cache_write_5m_tokens + usage.cache_write_1h_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_write_5m_tokens,
            "ephemeral_1h_input_tokens": usage.cache_write_1h_tokens,
        },
        "output_tokens": usage.output_tokens,
    }
    if usage.reasoning_tokens:
        out["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return out


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# ---- responses -------------------------------------------------------------------------------


def response_to_ir(body: dict[str, Any]) -> ir.Response:
    if not isinstance(body, dict):
        raise ConversionError("the response body must be a JSON object")
    usage = body.get("usage")
    stop_sequence = body.get("stop_sequence")
    return ir.Response(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        content=blocks_to_parts(body.get("content") or []),
        stop_reason=stop_to_ir(body.get("stop_reason")),
        stop_sequence=stop_sequence if isinstance(stop_sequence, str) else None,
        usage=usage_to_ir(usage) if isinstance(usage, dict) else None,
    )


def response_from_ir(resp: ir.Response) -> dict[str, Any]:
    return {
        "id": resp.id,
        "type": "message",
        "role": "assistant",
        "model": resp.model,
        "content": parts_to_blocks(resp.content, for_request=False),
        "stop_reason": STOP_FROM_IR[resp.stop_reason] if resp.stop_reason else None,
        "stop_sequence": resp.stop_sequence,
        "usage": usage_from_ir(resp.usage or ir.Usage()),
    }
