"""Property tests for Gemini and OpenAI Responses: IR → format → IR keeps what the format can say.

As in test_protocol_properties, each strategy draws IR values in the canonical shape the reader
produces (e.g. Gemini folds a response's adjacent texts into one, Responses has no seed or
redacted thinking); the round trip must give back an equal value. Streams are cut into random
fragments on the way, and every Responses event must validate against the official SDK's types.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from oneapi.relay import ir
from oneapi.relay.ir_stream import response_events
from oneapi.relay.protocols import gemini, gemini_request, openai_responses, openai_responses_request
from oneapi.relay.protocols.fields import dumps
from oneapi.relay.protocols.gemini_stream import ChunkDecoder, ChunkEncoder
from oneapi.relay.protocols.openai_responses_stream import EventDecoder, EventEncoder
from tests.unit.test_protocol_properties import (
    SETTINGS,
    accumulate,
    b64,
    counts,
    fragmented,
    ids,
    json_objects,
    maybe,
    ratios,
    schemas,
    texts,
)

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
signatures = b64
urls = ids.map(lambda i: f"https://example.com/{i}")
FILTERS = [ir.StopReason.MAX_TOKENS, ir.StopReason.CONTENT_FILTER]


@st.composite
def plain_usages(draw: st.DrawFn, *, cache_writes: bool) -> ir.Usage:
    output = draw(counts)
    return ir.Usage(
        input_tokens=draw(counts),
        output_tokens=output,
        cached_tokens=draw(counts),
        cache_write_5m_tokens=draw(counts) if cache_writes else 0,
        reasoning_tokens=draw(st.integers(0, output)),
    )


def stop_for(draw: st.DrawFn, content: list[ir.Part], *, other: bool) -> ir.StopReason:
    """A stop reason the format can say for this content (a finish after calls is tool_use)."""
    calls = any(isinstance(part, ir.ToolCallPart) for part in content)
    normal = ir.StopReason.TOOL_USE if calls else ir.StopReason.END_TURN
    return draw(st.sampled_from([normal, *FILTERS, *([ir.StopReason.OTHER] if other else [])]))


# ---- Gemini ----------------------------------------------------------------------------------

gemini_schemas = st.dictionaries(
    ids,
    st.builds(
        lambda kind, text: {"type": kind, **({"description": text} if text else {})},
        st.sampled_from(["string", "integer", "number", "boolean"]),
        maybe(texts),
    ),
    min_size=1,
    max_size=3,
).flatmap(
    lambda props: st.builds(
        lambda required: {
            "type": "object",
            "properties": props,
            **({"required": required} if required else {}),
        },
        st.lists(st.sampled_from(sorted(props)), unique=True),
    )
)
gemini_user_parts = st.one_of(
    st.builds(ir.TextPart, texts),
    st.builds(ir.ImagePart, data=b64, media_type=st.sampled_from(["image/png", "image/jpeg"])),
    st.builds(ir.ImagePart, url=urls, media_type=st.just("image/png")),
    st.builds(ir.AudioPart, b64, st.sampled_from(["wav", "mp3"])),
    st.builds(ir.FilePart, data=b64, media_type=st.sampled_from(["application/pdf", "text/plain"])),
    st.builds(ir.FilePart, url=urls, media_type=st.just("application/pdf")),
    st.builds(
        ir.ToolResultPart,
        ids,
        st.lists(st.builds(ir.TextPart, texts), max_size=1),
        st.booleans(),
        ids,
    ),
)
gemini_calls = st.builds(ir.ToolCallPart, ids, ids, json_objects.map(dumps), signature=maybe(signatures))


@st.composite
def gemini_parts(draw: st.DrawFn, *, response: bool) -> list[ir.Part]:
    """Assistant parts: in requests thoughts are signed; in responses an unsigned thought ends at
    a text or a call, and adjacent texts are one."""
    kinds = ["signed", "text", "signed_text", "call", *(["unsigned"] if response else [])]
    parts: list[ir.Part] = []
    last = None
    for kind in draw(st.lists(st.sampled_from(kinds), min_size=0 if response else 1, max_size=5)):
        if last == "unsigned" and kind in ("signed", "unsigned", "signed_text"):
            continue
        if response and last in ("text", "signed_text") and kind == "text":
            continue
        if kind == "signed":
            parts.append(ir.ThinkingPart(draw(texts), draw(signatures)))
        elif kind == "unsigned":
            parts.append(ir.ThinkingPart(draw(texts)))
        elif kind == "text":
            parts.append(ir.TextPart(draw(texts)))
        elif kind == "signed_text":
            parts.extend([ir.ThinkingPart("", draw(signatures)), ir.TextPart(draw(texts))])
        else:
            parts.append(draw(gemini_calls))
        last = kind
    return parts


@st.composite
def gemini_reasoning(draw: st.DrawFn, levels: bool) -> ir.Reasoning | None:
    options: list[ir.Reasoning | None] = [
        None,
        ir.Reasoning(enabled=True, budget_tokens=draw(st.integers(1, 32768)), summary="auto"),
        ir.Reasoning(summary="auto"),
    ]
    if levels:
        level = draw(st.sampled_from(["minimal", "low", "medium", "high"]))
        options.append(ir.Reasoning(effort=level, enabled=True, summary="auto"))
    else:
        options += [ir.Reasoning(enabled=False), ir.Reasoning(enabled=True, adaptive=True, summary="auto")]
    return draw(st.sampled_from(options))


@st.composite
def gemini_requests(draw: st.DrawFn) -> tuple[ir.Request, bool]:
    levels = draw(st.booleans())
    messages = [
        ir.Message(ir.Role.USER, draw(st.lists(gemini_user_parts, min_size=1, max_size=3)))
        if turn % 2 == 0
        else ir.Message(ir.Role.ASSISTANT, draw(gemini_parts(response=False)))
        for turn in range(draw(st.integers(0, 5)))
    ]
    choice = draw(
        maybe(
            st.builds(
                ir.ToolChoice,
                st.sampled_from([m for m in ir.ToolChoiceMode if m is not ir.ToolChoiceMode.NAMED]),
            )
            | st.builds(ir.ToolChoice, st.just(ir.ToolChoiceMode.NAMED), ids)
        )
    )
    req = ir.Request(
        model=draw(ids),
        messages=messages,
        system=draw(st.lists(st.builds(ir.TextPart, texts), max_size=2)),
        tools=draw(st.lists(st.builds(ir.Tool, ids, maybe(texts), gemini_schemas | st.just({})), max_size=2)),
        tool_choice=choice,
        response_format=draw(
            maybe(
                st.just(ir.ResponseFormat("json_object"))
                | st.builds(ir.ResponseFormat, st.just("json_schema"), schema=gemini_schemas)
            )
        ),
        sampling=ir.Sampling(
            max_tokens=draw(maybe(st.integers(1, 10**6))),
            temperature=draw(maybe(ratios)),
            top_p=draw(maybe(ratios)),
            top_k=draw(maybe(st.integers(1, 500))),
            stop=draw(st.lists(texts, max_size=3)),
            seed=draw(maybe(st.integers(0, 2**31))),
            presence_penalty=draw(maybe(ratios)),
            frequency_penalty=draw(maybe(ratios)),
        ),
        reasoning=draw(gemini_reasoning(levels)),
        extra=draw(
            st.sampled_from(
                [
                    {},
                    {
                        "gemini": {
                            "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}]
                        }
                    },
                    {"gemini": {"tools": [{"googleSearch": {}}], "cachedContent": "cachedContents/abc"}},
                    {"gemini": {"generationConfig": {"responseModalities": ["TEXT"], "candidateCount": 1}}},
                    {"gemini": {"toolConfig": {"retrievalConfig": {"languageCode": "en"}}}},
                ]
            )
        ),
    )
    return req, levels


@st.composite
def gemini_responses(draw: st.DrawFn, *, streamed: bool) -> ir.Response:
    content = draw(gemini_parts(response=True))
    reason = stop_for(draw, content, other=True)
    return ir.Response(
        id=draw(ids),
        model=draw(ids),
        content=content,
        stop_reason=reason if streamed else draw(maybe(st.just(reason))),
        usage=draw(maybe(plain_usages(cache_writes=False))),
    )


@SETTINGS
@given(gemini_requests())
def test_gemini_requests_survive_ir_gemini_ir(drawn: tuple[ir.Request, bool]) -> None:
    req, levels = drawn
    body = gemini_request.request_from_ir(req, fill_signatures=False, thinking_levels=levels)
    assert gemini_request.request_to_ir(body, model=req.model) == req


@SETTINGS
@given(gemini_responses(streamed=False))
def test_gemini_responses_survive_ir_gemini_ir(resp: ir.Response) -> None:
    assert gemini.response_to_ir(gemini.response_from_ir(resp)) == resp


@SETTINGS
@given(gemini_responses(streamed=True), st.data())
def test_gemini_streams_survive_ir_chunks_ir(resp: ir.Response, data: st.DataObject) -> None:
    encoder = ChunkEncoder()
    chunks = [
        c for e in fragmented(response_events(resp), data) for c in encoder.encode(e)
    ] + encoder.finish()
    decoder = ChunkDecoder()
    assert accumulate([event for c in chunks for event in decoder.feed(c)]) == resp


# ---- OpenAI Responses ------------------------------------------------------------------------

details = st.sampled_from(["low", "high", "auto"])
responses_user_parts = st.one_of(
    st.builds(ir.TextPart, texts),
    st.builds(ir.ImagePart, url=urls, detail=details),
    st.builds(
        ir.ImagePart, data=b64, media_type=st.sampled_from(["image/png", "image/webp"]), detail=details
    ),
    st.builds(ir.ImagePart, file_id=ids, detail=details),
    st.builds(ir.AudioPart, b64, st.sampled_from(["wav", "mp3"])),
    st.builds(ir.FilePart, data=b64, media_type=maybe(st.just("application/pdf")), filename=maybe(texts)),
    st.builds(ir.FilePart, file_id=ids, filename=maybe(texts)),
    st.builds(ir.FilePart, url=urls, filename=maybe(texts)),
)
result_contents = st.lists(st.builds(ir.TextPart, texts), max_size=1) | st.lists(
    st.builds(ir.TextPart, texts) | st.builds(ir.ImagePart, url=urls, detail=details), min_size=1
).filter(lambda parts: any(isinstance(p, ir.ImagePart) for p in parts))
responses_calls = st.builds(ir.ToolCallPart, ids, ids, st.text(max_size=30))


@st.composite
def responses_messages(draw: st.DrawFn) -> list[ir.Message]:
    """Results answer earlier calls (an orphan output is read as a plain user message)."""
    messages: list[ir.Message] = []
    calls: list[str] = []
    last = None
    for kind in draw(st.lists(st.sampled_from(["user", "assistant", "results", "system"]), max_size=6)):
        if (
            (kind == last and kind in ("assistant", "results"))
            or (kind == "system" and not messages)
            or (kind == "results" and not calls)
        ):
            continue  # adjacent assistant items, or adjacent results, are one turn
        if kind == "user":
            messages.append(
                ir.Message(ir.Role.USER, draw(st.lists(responses_user_parts, min_size=1, max_size=3)))
            )
        elif kind == "results":
            results = st.builds(ir.ToolResultPart, st.sampled_from(calls), result_contents)
            messages.append(ir.Message(ir.Role.USER, draw(st.lists(results, min_size=1, max_size=3))))
        elif kind == "system":
            messages.append(
                ir.Message(ir.Role.SYSTEM, draw(st.lists(st.builds(ir.TextPart, texts), min_size=1)))
            )
        else:
            unit = st.builds(ir.ThinkingPart, st.text(max_size=20), signatures) | st.builds(
                ir.TextPart, texts
            )
            parts = draw(st.lists(unit | responses_calls, min_size=1, max_size=4))
            calls.extend(part.id for part in parts if isinstance(part, ir.ToolCallPart))
            messages.append(ir.Message(ir.Role.ASSISTANT, parts))
        last = kind
    return messages


@st.composite
def responses_requests(draw: st.DrawFn) -> ir.Request:
    effort = draw(st.sampled_from(["none", "minimal", "low", "medium", "high", "xhigh"]))
    summary = draw(maybe(st.sampled_from(["auto", "concise", "detailed"])))
    req = ir.Request(
        model=draw(ids),
        messages=draw(responses_messages()),
        system=draw(st.lists(st.builds(ir.TextPart, texts), max_size=1)),
        tools=draw(st.lists(st.builds(ir.Tool, ids, maybe(texts), schemas, st.booleans()), max_size=2)),
        tool_choice=draw(
            maybe(
                st.builds(
                    ir.ToolChoice,
                    st.sampled_from([m for m in ir.ToolChoiceMode if m is not ir.ToolChoiceMode.NAMED]),
                )
                | st.builds(ir.ToolChoice, st.just(ir.ToolChoiceMode.NAMED), ids)
            )
        ),
        parallel_tool_calls=draw(maybe(st.booleans())),
        response_format=draw(
            maybe(
                st.builds(ir.ResponseFormat, st.sampled_from(["text", "json_object"]))
                | st.builds(
                    ir.ResponseFormat,
                    st.just("json_schema"),
                    ids,
                    maybe(texts),
                    schemas,
                    maybe(st.booleans()),
                )
            )
        ),
        sampling=ir.Sampling(
            max_tokens=draw(maybe(st.integers(1, 10**6))),
            temperature=draw(maybe(ratios)),
            top_p=draw(maybe(ratios)),
        ),
        reasoning=draw(
            st.sampled_from(
                [
                    None,
                    ir.Reasoning(effort=effort, enabled=effort != "none", summary=summary),
                    ir.Reasoning(summary=summary or "auto"),
                ]
            )
        ),
        stream=draw(st.booleans()),
        user=draw(maybe(texts)),
        metadata=draw(st.dictionaries(ids, texts, max_size=2)),
        extra=draw(
            st.sampled_from(
                [
                    {},
                    {"openai_responses": {"store": False, "include": ["reasoning.encrypted_content"]}},
                    {
                        "openai_responses": {
                            "tools": [{"type": "web_search"}],
                            "previous_response_id": "resp_1",
                        }
                    },
                    {"openai_responses": {"text": {"verbosity": "low"}, "truncation": "auto"}},
                ]
            )
        ),
    )
    if req.tool_choice is None and draw(st.booleans()):  # a choice the IR cannot say is kept aside
        allowed = {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "f"}]}
        req.extra.setdefault("openai_responses", {})["tool_choice"] = allowed
    return req


@st.composite
def responses_responses(draw: st.DrawFn, *, streamed: bool) -> ir.Response:
    """In a stream an unsigned thought ends at another kind of part, and adjacent texts are one."""
    content: list[ir.Part] = []
    for part in draw(
        st.lists(
            st.builds(ir.ThinkingPart, texts, maybe(signatures))
            | st.builds(ir.ThinkingPart, st.just(""), signatures)
            | st.builds(ir.TextPart, texts)
            | responses_calls,
            max_size=5,
        )
    ):
        last = content[-1] if content else None
        if streamed and (
            (
                isinstance(last, ir.ThinkingPart)
                and last.signature is None
                and isinstance(part, ir.ThinkingPart)
            )
            or (isinstance(last, ir.TextPart) and isinstance(part, ir.TextPart))
        ):
            continue
        content.append(part)
    return ir.Response(
        id="resp_" + draw(ids),
        model=draw(ids),
        content=content,
        stop_reason=stop_for(draw, content, other=False),
        usage=draw(maybe(plain_usages(cache_writes=True))),
        created=draw(st.integers(1, 2**31)),
    )


@SETTINGS
@given(responses_requests())
def test_responses_requests_survive_ir_responses_ir(req: ir.Request) -> None:
    body = openai_responses_request.request_from_ir(req)
    assert openai_responses_request.request_to_ir(body) == req


@SETTINGS
@given(responses_responses(streamed=False))
def test_responses_objects_survive_ir_responses_ir(resp: ir.Response) -> None:
    body = openai_responses.response_from_ir(resp)
    Response.model_validate(body)
    assert openai_responses.response_to_ir(body) == resp


@SETTINGS
@given(responses_responses(streamed=True), st.data())
def test_responses_streams_survive_ir_events_ir(resp: ir.Response, data: st.DataObject) -> None:
    encoder = EventEncoder(created=resp.created)
    payloads = [
        p for e in fragmented(response_events(resp), data) for p in encoder.encode(e)
    ] + encoder.finish()
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    for payload in payloads:
        EVENTS.validate_python(payload)
    decoder = EventDecoder()
    back = accumulate([event for p in payloads for event in decoder.feed(p)])
    back.created = resp.created
    assert back == resp
