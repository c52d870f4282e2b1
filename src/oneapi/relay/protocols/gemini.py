"""Gemini `generateContent` parts, usage, finish reasons and responses ⇄ IR (SPEC §6.8).

Requests are in `gemini_request`, streams in `gemini_stream`; both build on the conversions here.

- Parts: text, `thought` text (with `thoughtSignature`), `inlineData` (images, audio, documents),
  `fileData` (by URI), `functionCall` and `functionResponse`. A function call without an `id`
  gets a generated "call_<hex>"; a function response without one takes the id of the earliest
  unanswered call of that name.
- Thought signatures: a thought part's signature stays with its `ThinkingPart`; a function call's
  with its `ToolCallPart` (Gemini 3 refuses history whose calls lost theirs). A signature on any
  other part closes the reasoning before it: it goes to the preceding unsigned `ThinkingPart`, or
  to a new empty one, which is how a stream of deltas folds it too. Written back, the signature
  of a `ThinkingPart` followed by text goes on that text part, where Gemini put it (it signs the
  part after its thoughts, or the last part), and an empty signed `ThinkingPart` puts its
  signature on the part that follows it. An empty signature counts as none.
- Responses: consecutive text parts are one text (as a stream folds them) and consecutive thought
  parts one thought until a signature closes it; parts other than text, thoughts, images and
  function calls (code execution) are left out. In requests such parts become their JSON as
  text, as in the other formats.
- Usage: `promptTokenCount` (+ `toolUsePromptTokenCount`) is the input with
  `cachedContentTokenCount` cached; the output is `candidatesTokenCount` + `thoughtsTokenCount`,
  the latter being the reasoning tokens.
"""

from __future__ import annotations

import mimetypes
import uuid
from typing import Any

from oneapi.relay import ir
from oneapi.relay.ir import ConversionError
from oneapi.relay.protocols import fields as f

FORMAT = "gemini"

_FILTERED = ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY")
FINISH_TO_IR: dict[str, ir.StopReason] = {
    "STOP": ir.StopReason.END_TURN,
    "MAX_TOKENS": ir.StopReason.MAX_TOKENS,
    **{reason: ir.StopReason.CONTENT_FILTER for reason in _FILTERED},
    "IMAGE_PROHIBITED_CONTENT": ir.StopReason.CONTENT_FILTER,
    "IMAGE_RECITATION": ir.StopReason.CONTENT_FILTER,
}
FINISH_FROM_IR = {
    ir.StopReason.END_TURN: "STOP",
    ir.StopReason.STOP_SEQUENCE: "STOP",
    ir.StopReason.TOOL_USE: "STOP",
    ir.StopReason.MAX_TOKENS: "MAX_TOKENS",
    ir.StopReason.CONTENT_FILTER: "SAFETY",
    ir.StopReason.OTHER: "OTHER",
}


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex}"


def finish_to_ir(value: Any, *, tool_calls: bool) -> ir.StopReason | None:
    """Gemini says STOP after function calls too; that is the IR's tool_use."""
    if not isinstance(value, str) or not value or value == "FINISH_REASON_UNSPECIFIED":
        return None
    reason = FINISH_TO_IR.get(value, ir.StopReason.OTHER)
    return ir.StopReason.TOOL_USE if reason is ir.StopReason.END_TURN and tool_calls else reason


# ---- parts → IR ------------------------------------------------------------------------------


class PartReader:
    """Reads the parts of one conversation, pairing function responses with earlier calls."""

    __slots__ = ("_pending", "_response")

    def __init__(self, *, response: bool) -> None:
        self._response = response  # a model response: fold texts and thoughts as a stream does
        self._pending: list[tuple[str, str]] = []  # (id, name) of calls not yet answered

    def read(self, parts: Any) -> list[ir.Part]:
        if parts is None:
            return []
        if not isinstance(parts, list):
            raise ConversionError("parts must be an array")
        out: list[ir.Part] = []
        for part in parts:
            if not isinstance(part, dict):
                raise ConversionError("parts must be objects")
            self._part(part, out)
        return out

    def _part(self, part: dict[str, Any], out: list[ir.Part]) -> None:
        raw_signature = part.get("thoughtSignature")
        signature = raw_signature if isinstance(raw_signature, str) and raw_signature else None
        text = part.get("text")
        if part.get("thought") is True:
            self._thought(text if isinstance(text, str) else "", signature, out)
            return
        call = part.get("functionCall")
        if isinstance(call, dict):
            out.append(self._call(call, signature))
            return
        if signature is not None:
            _close_thinking(out, signature)
        if isinstance(text, str):
            if not text:
                return
            if self._response and out and isinstance(out[-1], ir.TextPart):
                out[-1].text += text
            else:
                out.append(ir.TextPart(text))
            return
        converted = self._media_or_result(part)
        if converted is not None:
            out.append(converted)
        elif not self._response:
            out.append(ir.TextPart(f.dumps(part)))

    def _thought(self, text: str, signature: str | None, out: list[ir.Part]) -> None:
        last = out[-1] if out else None
        if isinstance(last, ir.ThinkingPart) and last.signature is None and (self._response or not text):
            last.text += text
            last.signature = signature
        elif text or signature is not None:
            out.append(ir.ThinkingPart(text, signature))

    def _call(self, call: dict[str, Any], signature: str | None) -> ir.ToolCallPart:
        name = call.get("name")
        if not isinstance(name, str):
            raise ConversionError("functionCall.name is required")
        raw_id = call.get("id")
        call_id = raw_id if isinstance(raw_id, str) and raw_id else new_call_id()
        self._pending.append((call_id, name))
        args = call.get("args")
        return ir.ToolCallPart(call_id, name, f.dumps(args if args is not None else {}), signature=signature)

    def _media_or_result(self, part: dict[str, Any]) -> ir.Part | None:
        inline = part.get("inlineData")
        if isinstance(inline, dict) and isinstance(inline.get("data"), str):
            return _inline(str(inline.get("mimeType") or "application/octet-stream"), inline["data"])
        file = part.get("fileData")
        if isinstance(file, dict) and isinstance(file.get("fileUri"), str):
            mime = file.get("mimeType")
            media_type = mime if isinstance(mime, str) else None
            if media_type is not None and media_type.startswith("image/"):
                return ir.ImagePart(url=file["fileUri"], media_type=media_type)
            return ir.FilePart(url=file["fileUri"], media_type=media_type)
        result = part.get("functionResponse")
        if isinstance(result, dict) and not self._response:
            return self._result(result)
        return None

    def _result(self, result: dict[str, Any]) -> ir.ToolResultPart:
        name = result.get("name")
        name = name if isinstance(name, str) else ""
        raw_id = result.get("id")
        call_id = raw_id if isinstance(raw_id, str) and raw_id else None
        for i, (pending_id, pending_name) in enumerate(self._pending):
            if pending_id == call_id or (call_id is None and pending_name == name):
                call_id = pending_id
                del self._pending[i]
                break
        response = f.sub(result, "response")
        text, is_error = _result_text(response)
        content: list[ir.Part] = [ir.TextPart(text)] if text else []
        for extra in result.get("parts") or []:
            inline = extra.get("inlineData") if isinstance(extra, dict) else None
            if isinstance(inline, dict) and isinstance(inline.get("data"), str):
                content.append(_inline(str(inline.get("mimeType") or "image/png"), inline["data"]))
        return ir.ToolResultPart(call_id or new_call_id(), content, is_error=is_error, name=name)


def _close_thinking(out: list[ir.Part], signature: str) -> None:
    last = out[-1] if out else None
    if isinstance(last, ir.ThinkingPart) and last.signature is None:
        last.signature = signature
    else:
        out.append(ir.ThinkingPart("", signature))


def _inline(mime: str, data: str) -> ir.Part:
    if mime.startswith("image/"):
        return ir.ImagePart(data=data, media_type=mime)
    if mime.startswith("audio/"):
        return ir.AudioPart(data, mime.partition("/")[2])
    return ir.FilePart(data=data, media_type=mime)


def _result_text(response: dict[str, Any]) -> tuple[str, bool]:
    """A function response as text: the lone `output`/`result`/`content` or `error` value when
    there is one, else the whole object as JSON."""
    if len(response) == 1:
        ((key, value),) = response.items()
        if key in ("output", "result", "content", "error"):
            return (value if isinstance(value, str) else f.dumps(value)), key == "error"
    return (f.dumps(response) if response else ""), False


# ---- IR → parts ------------------------------------------------------------------------------


def parts_from_ir(
    parts: list[ir.Part], *, for_request: bool, names: dict[str, str] | None = None, call_ids: bool = True
) -> list[dict[str, Any]]:
    """Gemini parts. In requests, thoughts without a signature (another vendor's reasoning, which
    Gemini cannot check) and redacted thinking are left out. `names` gives a tool result its
    call's name when the IR does not carry it; `call_ids` False leaves call ids out."""
    out: list[dict[str, Any]] = []
    pending: str | None = None  # a signature waiting for the part it belongs to
    for i, part in enumerate(parts):
        if isinstance(part, ir.ThinkingPart) and not part.signature:
            part = ir.ThinkingPart(part.text)  # an empty signature is no signature
        if isinstance(part, ir.ThinkingPart) and not part.text:
            if pending is not None:
                out.append({"text": "", "thoughtSignature": pending})
            pending = part.signature
            continue
        if isinstance(part, ir.ThinkingPart) and part.signature and _next_is_text(parts, i):
            # Gemini signs the text after its thoughts, not the thoughts: give it back there.
            out.append({"text": part.text, "thought": True})
            pending = part.signature
            continue
        items = _part_out(part, for_request, names or {}, call_ids)
        if items and pending is not None:
            if "thoughtSignature" in items[0]:
                out.append({"text": "", "thoughtSignature": pending})
            else:
                items[0]["thoughtSignature"] = pending
            pending = None
        out.extend(items)
    if pending is not None:
        out.append({"text": "", "thoughtSignature": pending})
    return out


def _next_is_text(parts: list[ir.Part], i: int) -> bool:
    following = parts[i + 1] if i + 1 < len(parts) else None
    return isinstance(following, ir.TextPart) and bool(following.text)


def _part_out(
    part: ir.Part, for_request: bool, names: dict[str, str], call_ids: bool
) -> list[dict[str, Any]]:
    if isinstance(part, ir.TextPart):
        return [{"text": part.text}] if part.text else []
    if isinstance(part, ir.ThinkingPart):
        if for_request and part.signature is None:
            return []
        thought: dict[str, Any] = {"text": part.text, "thought": True}
        if part.signature is not None:
            thought["thoughtSignature"] = part.signature
        return [thought]
    if isinstance(part, ir.ToolCallPart):
        call: dict[str, Any] = {"id": part.id} if call_ids and part.id else {}
        call.update(name=part.name, args=f.loads_object(part.arguments))
        item: dict[str, Any] = {"functionCall": call}
        if part.signature is not None:
            item["thoughtSignature"] = part.signature
        return [item]
    if isinstance(part, ir.ToolResultPart):
        return _result_out(part, names, call_ids)
    media = _media_out(part)
    return [media] if media is not None else []


def _result_out(part: ir.ToolResultPart, names: dict[str, str], call_ids: bool) -> list[dict[str, Any]]:
    result: dict[str, Any] = {"id": part.call_id} if call_ids and part.call_id else {}
    result["name"] = part.name or names.get(part.call_id) or part.call_id
    result["response"] = {"error" if part.is_error else "output": part.text()}
    items: list[dict[str, Any]] = [{"functionResponse": result}]
    for extra in part.content:
        media = _media_out(extra)
        if media is not None:  # images beside the response: every Gemini model reads them there
            items.append(media)
    return items


def _media_out(part: ir.Part) -> dict[str, Any] | None:
    if isinstance(part, ir.ImagePart):
        if part.data is not None:
            return {"inlineData": {"mimeType": part.media_type or "image/png", "data": part.data}}
        if part.url:
            mime = part.media_type or _guess_type(part.url, "image/jpeg")
            return {"fileData": {"mimeType": mime, "fileUri": part.url}}
        return None
    if isinstance(part, ir.AudioPart):
        return {"inlineData": {"mimeType": f"audio/{part.format}", "data": part.data}}
    if isinstance(part, ir.FilePart):
        if part.data is not None:
            return {"inlineData": {"mimeType": part.media_type or "application/pdf", "data": part.data}}
        if part.url:
            mime = part.media_type or _guess_type(part.url, "application/pdf")
            return {"fileData": {"mimeType": mime, "fileUri": part.url}}
    return None


def _guess_type(url: str, default: str) -> str:
    return mimetypes.guess_type(url.partition("?")[0])[0] or default


# ---- usage -----------------------------------------------------------------------------------


def usage_to_ir(usage: dict[str, Any]) -> ir.Usage:
    thoughts = _count(usage.get("thoughtsTokenCount"))
    return ir.Usage(
        input_tokens=_count(usage.get("promptTokenCount")) + _count(usage.get("toolUsePromptTokenCount")),
        output_tokens=_count(usage.get("candidatesTokenCount")) + thoughts,
        cached_tokens=_count(usage.get("cachedContentTokenCount")),
        reasoning_tokens=thoughts,
    )


def usage_from_ir(usage: ir.Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": max(usage.output_tokens - usage.reasoning_tokens, 0),
        "totalTokenCount": usage.input_tokens + usage.output_tokens,
    }
    if usage.reasoning_tokens:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cached_tokens:
        out["cachedContentTokenCount"] = usage.cached_tokens
    return out


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# ---- responses -------------------------------------------------------------------------------


def first_candidate(body: dict[str, Any]) -> dict[str, Any]:
    candidates = body.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        return candidates[0]
    return {}


def blocked(body: dict[str, Any]) -> bool:
    """The prompt itself was refused: no candidates, a `promptFeedback.blockReason`."""
    return not body.get("candidates") and bool(f.sub(body, "promptFeedback").get("blockReason"))


def response_to_ir(body: dict[str, Any]) -> ir.Response:
    if not isinstance(body, dict):
        raise ConversionError("the response body must be a JSON object")
    candidate = first_candidate(body)
    content = PartReader(response=True).read(f.sub(candidate, "content").get("parts"))
    calls = any(isinstance(part, ir.ToolCallPart) for part in content)
    usage = body.get("usageMetadata")
    return ir.Response(
        id=str(body.get("responseId") or ""),
        model=str(body.get("modelVersion") or ""),
        content=content,
        stop_reason=ir.StopReason.CONTENT_FILTER
        if blocked(body)
        else finish_to_ir(candidate.get("finishReason"), tool_calls=calls),
        usage=usage_to_ir(usage) if isinstance(usage, dict) else None,
    )


def response_from_ir(resp: ir.Response) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": parts_from_ir(resp.content, for_request=False)},
        "index": 0,
    }
    if resp.stop_reason is not None:
        candidate["finishReason"] = FINISH_FROM_IR[resp.stop_reason]
    body: dict[str, Any] = {"candidates": [candidate]}
    if resp.usage is not None:
        body["usageMetadata"] = usage_from_ir(resp.usage)
    body["modelVersion"] = resp.model
    body["responseId"] = resp.id
    return body
