"""Property tests: IR → format → IR keeps everything the format can express.

Each strategy draws IR values limited to what one wire format can say (e.g. Chat has no thinking
signatures, Anthropic no seed), in the canonical shape the reader produces; the round trip must
then give back an equal value. Streams are cut into random fragments on the way.
"""

from __future__ import annotations

import base64
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneapi.relay import ir
from oneapi.relay.ir_stream import ResponseAccumulator, response_events
from oneapi.relay.protocols import anthropic_messages, anthropic_request, openai_chat, openai_chat_request
from oneapi.relay.protocols.anthropic_request import ANTHROPIC_EFFORTS
from oneapi.relay.protocols.anthropic_stream import EventDecoder, EventEncoder
from oneapi.relay.protocols.fields import dumps
from oneapi.relay.protocols.openai_chat_stream import ChunkDecoder, ChunkEncoder

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=24)
ids = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=16)
b64 = st.binary(min_size=1, max_size=24).map(lambda raw: base64.b64encode(raw).decode())
counts = st.integers(min_value=0, max_value=10**6)
ratios = st.floats(min_value=0, max_value=2, allow_nan=False)
cache = st.none() | st.just({"type": "ephemeral"}) | st.just({"type": "ephemeral", "ttl": "1h"})
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ids, inner, max_size=3),
    max_leaves=6,
)
json_objects = st.dictionaries(ids, json_values, max_size=4)
schemas = json_objects.map(lambda props: {"type": "object", "properties": props})


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def usages(*, split_writes: bool) -> st.SearchStrategy[ir.Usage]:
    @st.composite
    def build(draw: st.DrawFn) -> ir.Usage:
        cached, write_5m, fresh = draw(counts), draw(counts), draw(counts)
        write_1h = draw(counts) if split_writes else 0
        output = draw(counts)
        return ir.Usage(
            input_tokens=cached + write_5m + write_1h + fresh,
            output_tokens=output,
            cached_tokens=cached,
            cache_write_5m_tokens=write_5m,
            cache_write_1h_tokens=write_1h,
            reasoning_tokens=draw(st.integers(min_value=0, max_value=output)),
        )

    return build()


# ---- Chat strategies -------------------------------------------------------------------------

chat_user_parts = st.one_of(
    st.builds(ir.TextPart, texts, cache),
    st.builds(
        ir.ImagePart,
        url=ids.map(lambda i: f"https://example.com/{i}.png"),
        detail=maybe(st.sampled_from(["low", "high", "auto"])),
    ),
    st.builds(ir.ImagePart, data=b64, media_type=st.sampled_from(["image/png", "image/jpeg"])),
    st.builds(ir.AudioPart, b64, st.sampled_from(["wav", "mp3"])),
    st.builds(ir.FilePart, data=b64, media_type=maybe(st.just("application/pdf")), filename=maybe(texts)),
    st.builds(ir.FilePart, file_id=ids, filename=maybe(texts)),
)
tool_calls = st.builds(ir.ToolCallPart, ids, ids, st.text(max_size=30))


@st.composite
def chat_messages(draw: st.DrawFn) -> list[ir.Message]:
    messages: list[ir.Message] = []
    for kind in draw(st.lists(st.sampled_from(["user", "assistant", "results", "system"]), max_size=6)):
        if kind == "user":
            messages.append(ir.Message(ir.Role.USER, draw(st.lists(chat_user_parts, min_size=1, max_size=3))))
        elif kind == "assistant":
            parts: list[ir.Part] = []
            if draw(st.booleans()):
                parts.append(ir.ThinkingPart(draw(texts)))
            if draw(st.booleans()):
                parts.append(ir.TextPart(draw(texts)))
            parts.extend(draw(st.lists(tool_calls, max_size=2)))
            messages.append(ir.Message(ir.Role.ASSISTANT, parts))
        elif kind == "results":
            results = st.builds(ir.ToolResultPart, ids, st.lists(st.builds(ir.TextPart, texts), max_size=1))
            new: list[ir.Part] = list(draw(st.lists(results, min_size=1, max_size=3)))
            last = messages[-1] if messages else None
            if last and last.content and all(isinstance(p, ir.ToolResultPart) for p in last.content):
                last.content.extend(new)  # Chat cannot tell two adjacent batches of results apart
            else:
                messages.append(ir.Message(ir.Role.USER, new))
        elif messages:  # a system message first would be the system prompt
            system = draw(st.lists(st.builds(ir.TextPart, texts), min_size=1, max_size=2))
            messages.append(ir.Message(ir.Role.SYSTEM, list(system)))
    return messages


@st.composite
def chat_requests(draw: st.DrawFn) -> ir.Request:
    effort = draw(maybe(st.sampled_from(["none", "minimal", "low", "medium", "high"])))
    return ir.Request(
        model=draw(ids),
        messages=draw(chat_messages()),
        system=draw(st.lists(st.builds(ir.TextPart, texts, cache), max_size=2)),
        tools=draw(
            st.lists(st.builds(ir.Tool, ids, maybe(texts), schemas, maybe(st.booleans())), max_size=2)
        ),
        tool_choice=draw(
            maybe(
                st.builds(
                    ir.ToolChoice,
                    st.sampled_from(
                        [ir.ToolChoiceMode.AUTO, ir.ToolChoiceMode.NONE, ir.ToolChoiceMode.REQUIRED]
                    ),
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
            top_k=draw(maybe(st.integers(1, 500))),
            stop=draw(st.lists(texts, max_size=3)),
            seed=draw(maybe(st.integers(0, 2**31))),
            presence_penalty=draw(maybe(ratios)),
            frequency_penalty=draw(maybe(ratios)),
        ),
        reasoning=None if effort is None else ir.Reasoning(effort=effort, enabled=effort != "none"),
        stream=draw(st.booleans()),
        user=draw(maybe(texts)),
        metadata=draw(st.dictionaries(ids, texts, max_size=2)),
        extra=draw(
            st.just({})
            | st.builds(
                lambda n, flag: {"openai_chat": {"n": n, "x_vendor": flag}}, st.integers(1, 4), json_values
            )
        ),
    )


@st.composite
def chat_responses(draw: st.DrawFn) -> ir.Response:
    content: list[ir.Part] = []
    if draw(st.booleans()):
        content.append(ir.ThinkingPart(draw(texts)))
    if draw(st.booleans()):
        content.append(ir.TextPart(draw(texts)))
    content.extend(draw(st.lists(tool_calls, max_size=3)))
    reasons = [
        ir.StopReason.END_TURN,
        ir.StopReason.MAX_TOKENS,
        ir.StopReason.TOOL_USE,
        ir.StopReason.CONTENT_FILTER,
    ]
    return ir.Response(
        id=draw(ids),
        model=draw(ids),
        content=content,
        stop_reason=draw(maybe(st.sampled_from(reasons))),
        usage=draw(maybe(usages(split_writes=False))),
        created=draw(st.integers(1, 2**31)),
    )


reasoning_formats = st.sampled_from(["reasoning_content", "reasoning", "thinking"])


@SETTINGS
@given(chat_requests())
def test_chat_requests_survive_ir_chat_ir(req: ir.Request) -> None:
    assert openai_chat_request.request_to_ir(openai_chat_request.request_from_ir(req)) == req


@SETTINGS
@given(chat_responses(), reasoning_formats)
def test_chat_responses_survive_ir_chat_ir(resp: ir.Response, fmt: openai_chat.ReasoningFormat) -> None:
    assert openai_chat.response_to_ir(openai_chat.response_from_ir(resp, reasoning_format=fmt)) == resp


def fragmented(events: list[ir.Event], data: st.DataObject) -> list[ir.Event]:
    """The same stream with every text, thinking and argument delta cut into random pieces."""
    out: list[ir.Event] = []
    for event in events:
        if isinstance(event, ir.TextDelta | ir.ToolCallDelta) or (
            isinstance(event, ir.ThinkingDelta) and event.text
        ):
            text = event.arguments if isinstance(event, ir.ToolCallDelta) else event.text
            cuts = sorted(data.draw(st.sets(st.integers(1, max(len(text) - 1, 1)), max_size=4)))
            pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True) if text[a:b]]
            for piece in pieces:
                if isinstance(event, ir.ToolCallDelta):
                    out.append(ir.ToolCallDelta(event.index, piece))
                elif isinstance(event, ir.TextDelta):
                    out.append(ir.TextDelta(piece))
                else:
                    out.append(ir.ThinkingDelta(piece))
        else:
            out.append(event)
    return out


def accumulate(events: list[ir.Event]) -> ir.Response:
    acc = ResponseAccumulator()
    for event in events:
        acc.feed(event)
    return acc.response


@SETTINGS
@given(chat_responses(), reasoning_formats, st.data())
def test_chat_streams_survive_ir_chunks_ir(
    resp: ir.Response, fmt: openai_chat.ReasoningFormat, data: st.DataObject
) -> None:
    encoder = ChunkEncoder(created=resp.created, reasoning_format=fmt)
    chunks = [
        c for e in fragmented(response_events(resp), data) for c in encoder.encode(e)
    ] + encoder.finish()
    decoder = ChunkDecoder()
    back = accumulate([event for c in chunks for event in decoder.feed(c)])
    back.created = resp.created
    assert back == resp


# ---- Anthropic strategies --------------------------------------------------------------------

anthropic_images = st.one_of(
    st.builds(
        ir.ImagePart,
        data=b64,
        media_type=st.sampled_from(["image/png", "image/jpeg", "image/webp"]),
        cache_control=cache,
    ),
    st.builds(ir.ImagePart, url=ids.map(lambda i: f"https://example.com/{i}.png"), cache_control=cache),
    st.builds(ir.ImagePart, file_id=ids, cache_control=cache),
)
anthropic_documents = st.one_of(
    st.builds(
        ir.FilePart,
        data=b64,
        media_type=st.just("application/pdf"),
        filename=maybe(texts),
        cache_control=cache,
    ),
    st.builds(
        ir.FilePart,
        data=texts.map(lambda t: base64.b64encode(t.encode()).decode()),
        media_type=st.just("text/plain"),
        filename=maybe(texts),
    ),
    st.builds(ir.FilePart, url=ids.map(lambda i: f"https://example.com/{i}.pdf"), filename=maybe(texts)),
    st.builds(ir.FilePart, file_id=ids, filename=maybe(texts)),
)
anthropic_results = st.builds(
    ir.ToolResultPart,
    ids,
    st.lists(st.builds(ir.TextPart, texts, cache) | anthropic_images, max_size=2),
    st.booleans(),
    cache_control=cache,
)
anthropic_user_parts = (
    st.builds(ir.TextPart, texts, cache) | anthropic_images | anthropic_documents | anthropic_results
)
anthropic_tool_calls = st.builds(ir.ToolCallPart, ids, ids, json_objects.map(dumps), cache)
anthropic_assistant_parts = st.one_of(
    st.builds(ir.ThinkingPart, st.text(max_size=20), texts),
    st.builds(ir.RedactedThinkingPart, b64),
    st.builds(ir.TextPart, texts, cache),
    anthropic_tool_calls,
)


@st.composite
def anthropic_reasoning(draw: st.DrawFn) -> ir.Reasoning | None:
    effort = draw(maybe(st.sampled_from(sorted(ANTHROPIC_EFFORTS))))
    return draw(
        st.sampled_from(
            [
                None,
                ir.Reasoning(enabled=True, budget_tokens=draw(st.integers(1024, 32000)), effort=effort),
                ir.Reasoning(enabled=True, adaptive=True, effort=effort),
                ir.Reasoning(enabled=False),
                ir.Reasoning(effort=effort or "high"),
            ]
        )
    )


@st.composite
def anthropic_requests(draw: st.DrawFn) -> ir.Request:
    turns = draw(st.integers(1, 5))
    messages = [
        ir.Message(ir.Role.USER, draw(st.lists(anthropic_user_parts, min_size=1, max_size=3)))
        if turn % 2 == 0
        else ir.Message(ir.Role.ASSISTANT, draw(st.lists(anthropic_assistant_parts, min_size=1, max_size=3)))
        for turn in range(turns)
    ]
    reasoning = draw(anthropic_reasoning())
    thinking = reasoning is not None and reasoning.enabled is True  # sampling knobs are dropped then
    temperature = None if thinking else draw(maybe(ratios))
    choice = draw(
        st.sampled_from(
            [
                None,
                *[ir.ToolChoice(mode) for mode in ir.ToolChoiceMode if mode is not ir.ToolChoiceMode.NAMED],
            ]
        )
        | st.builds(ir.ToolChoice, st.just(ir.ToolChoiceMode.NAMED), ids)
    )
    parallel = None if choice is None or choice.mode is ir.ToolChoiceMode.NONE else draw(maybe(st.booleans()))
    return ir.Request(
        model=draw(ids),
        messages=messages,
        system=draw(st.lists(st.builds(ir.TextPart, texts, cache), max_size=2)),
        tools=draw(
            st.lists(st.builds(ir.Tool, ids, maybe(texts), schemas, maybe(st.booleans()), cache), max_size=2)
        ),
        tool_choice=choice,
        parallel_tool_calls=parallel,
        response_format=draw(maybe(st.builds(ir.ResponseFormat, st.just("json_schema"), schema=schemas))),
        sampling=ir.Sampling(
            max_tokens=draw(st.integers(1, 64000)),
            temperature=temperature,
            top_p=None if thinking or temperature is not None else draw(maybe(ratios)),
            top_k=None if thinking else draw(maybe(st.integers(1, 500))),
            stop=draw(st.lists(texts, max_size=3)),
        ),
        reasoning=reasoning,
        stream=draw(st.booleans()),
        user=draw(maybe(texts)),
        extra=draw(
            st.just({})
            | st.just({"anthropic_messages": {"service_tier": "auto"}})
            | st.just(
                {"anthropic_messages": {"tools": [{"type": "web_search_20250305", "name": "web_search"}]}}
            )
        ),
    )


@st.composite
def anthropic_responses(draw: st.DrawFn, *, streamable: bool = False) -> ir.Response:
    content: list[ir.Part] = []
    for part in draw(st.lists(anthropic_assistant_parts, max_size=5)):
        if isinstance(part, ir.TextPart | ir.ToolCallPart):
            part.cache_control = None
        if streamable and isinstance(part, ir.TextPart) and content and isinstance(content[-1], ir.TextPart):
            continue  # one stream block per text run
        content.append(part)
    reason = draw(st.sampled_from([r for r in ir.StopReason if r is not ir.StopReason.OTHER]))
    return ir.Response(
        id=draw(ids),
        model=draw(ids),
        content=content,
        stop_reason=reason if streamable else draw(maybe(st.just(reason))),
        stop_sequence=draw(texts) if reason is ir.StopReason.STOP_SEQUENCE else None,
        usage=draw(usages(split_writes=True)),
    )


@SETTINGS
@given(anthropic_requests())
def test_anthropic_requests_survive_ir_claude_ir(req: ir.Request) -> None:
    assert anthropic_request.request_to_ir(anthropic_request.request_from_ir(req)) == req


@SETTINGS
@given(anthropic_responses())
def test_anthropic_responses_survive_ir_claude_ir(resp: ir.Response) -> None:
    if resp.stop_reason is None:
        resp.stop_sequence = None
    assert anthropic_messages.response_to_ir(anthropic_messages.response_from_ir(resp)) == resp


@SETTINGS
@given(anthropic_responses(streamable=True), st.data())
def test_anthropic_streams_survive_ir_events_ir(resp: ir.Response, data: st.DataObject) -> None:
    encoder = EventEncoder()
    frames = [
        f for e in fragmented(response_events(resp), data) for f in encoder.encode(e)
    ] + encoder.finish()
    indexes = [d["index"] for name, d in frames if name == "content_block_start"]
    assert indexes == list(range(len(indexes)))
    decoder = EventDecoder()
    assert accumulate([event for name, d in frames for event in decoder.feed(name, d)]) == resp
