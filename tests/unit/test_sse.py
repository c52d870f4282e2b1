"""The incremental SSE reader and the frame writers."""

from __future__ import annotations

import time
from typing import Any

import pytest

from oneapi.relay.sse import (
    DONE_FRAME,
    SSEDecoder,
    SSEEvent,
    SSEFrameTooLarge,
    data_frame,
    event_frame,
)

STREAM = (
    b": OPENROUTER PROCESSING\n\n"
    b'data: {"id":"1","choices":[{"delta":{"content":"Hel"}}]}\n\n'
    b"event: message_start\n"
    b'data: {"type":"message_start"}\n\n'
    b": keep-alive comment inside a frame\n"
    b"data: line one\n"
    b"data: line two\n"
    b"\n"
    b"data:no-space\n\n"
    b"data\n\n"
    b"id: 7\nretry: 100\nunknown: x\ndata: fields ignored\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    (None, b'{"id":"1","choices":[{"delta":{"content":"Hel"}}]}'),
    ("message_start", b'{"type":"message_start"}'),
    (None, b"line one\nline two"),
    (None, b"no-space"),
    (None, b""),
    (None, b"fields ignored"),
    (None, b"[DONE]"),
]


def _decode(chunks: list[bytes], **kw: Any) -> list[SSEEvent]:
    decoder = SSEDecoder(**kw)
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.finish())
    return events


def _summary(events: list[SSEEvent]) -> list[tuple[str | None, bytes]]:
    return [(e.event, e.data) for e in events]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_gives_the_same_events(newline: bytes) -> None:
    stream = STREAM.replace(b"\n", newline)
    assert _summary(_decode([stream])) == EXPECTED


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_stream_split_at_every_byte_position(newline: bytes) -> None:
    stream = STREAM.replace(b"\n", newline)
    for cut in range(1, len(stream)):
        assert _summary(_decode([stream[:cut], stream[cut:]])) == EXPECTED, cut


def test_stream_fed_one_byte_at_a_time_with_crlf() -> None:
    stream = STREAM.replace(b"\n", b"\r\n")
    assert _summary(_decode([stream[i : i + 1] for i in range(len(stream))])) == EXPECTED


def test_raw_bytes_of_data_frames_are_exact_and_comment_frames_are_skipped() -> None:
    stream = STREAM.replace(b"\n", b"\r\n")
    events = _decode([stream[:50], stream[50:]])
    assert events[0].raw == b'data: {"id":"1","choices":[{"delta":{"content":"Hel"}}]}\r\n\r\n'
    assert events[2].raw.startswith(b": keep-alive comment inside a frame\r\n")
    assert events[-1].raw == b"data: [DONE]\r\n\r\n"
    assert b"".join(e.raw for e in events) == stream[len(b": OPENROUTER PROCESSING\r\n\r\n") :]


def test_keep_comments_returns_keepalive_frames_so_all_bytes_can_be_forwarded() -> None:
    events = _decode([STREAM], keep_comments=True)
    assert events[0] == SSEEvent(None, b"", b": OPENROUTER PROCESSING\n\n", has_data=False)
    assert b"".join(e.raw for e in events) == STREAM
    assert [(e.event, e.data) for e in events if e.has_data] == EXPECTED


def test_mixed_line_endings_in_one_stream() -> None:
    events = _decode([b"data: a\r\ndata: b\n\rdata: c\r\r\n"])
    assert _summary(events) == [(None, b"a\nb"), (None, b"c")]


def test_crlf_split_between_cr_and_lf_is_one_line_break() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\n") == []
    assert _summary(decoder.feed(b"\r")) == []
    assert _summary(decoder.feed(b"\n")) == [(None, b"x")]
    assert decoder.finish() == []


def test_leading_byte_order_mark_is_ignored_even_when_split() -> None:
    stream = b"\xef\xbb\xbfdata: x\n\n"
    for cut in range(1, len(stream)):
        assert _summary(_decode([stream[:cut], stream[cut:]])) == [(None, b"x")]


def test_finish_dispatches_a_frame_without_its_final_blank_line() -> None:
    assert _summary(_decode([b"data: a\n\ndata: tail"])) == [(None, b"a"), (None, b"tail")]
    assert _summary(_decode([b"event: e\ndata: tail\n"])) == [("e", b"tail")]
    assert _summary(_decode([b"data: tail\r"])) == [(None, b"tail")]
    events = _decode([b"data: a\n\ndata: tail\r\n"])
    assert events[-1].raw == b"data: tail\r\n"


def test_finish_ignores_a_trailing_comment_or_blank_lines() -> None:
    assert _decode([b"data: a\n\n: bye"]) == _decode([b"data: a\n\n"])
    assert _summary(_decode([b"data: a\n\n\n\n"])) == [(None, b"a")]


@pytest.mark.parametrize("size", [64 * 1024 + 1, 5 * 1024 * 1024])
def test_single_data_line_larger_than_typical_buffers(size: int) -> None:
    payload = b'{"x":"' + b"a" * size + b'"}'
    stream = b"data: " + payload + b"\n\ndata: [DONE]\n\n"
    chunks = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
    events = _decode(chunks)
    assert [e.data for e in events] == [payload, b"[DONE]"]


def test_frame_over_the_limit_raises_a_clear_error() -> None:
    decoder = SSEDecoder(max_frame_size=1024)
    decoder.feed(b"data: " + b"a" * 1000)
    with pytest.raises(SSEFrameTooLarge, match="1024 bytes"):
        decoder.feed(b"a" * 100)


def test_completed_frame_over_the_limit_in_one_chunk_raises() -> None:
    with pytest.raises(SSEFrameTooLarge):
        SSEDecoder(max_frame_size=100).feed(b"data: " + b"a" * 200 + b"\n\n")


def test_many_small_frames_within_the_limit_are_fine() -> None:
    frame = b"data: " + b"a" * 50 + b"\n\n"
    events = SSEDecoder(max_frame_size=100).feed(frame * 1000)
    assert len(events) == 1000


def test_twenty_thousand_events_parse_quickly() -> None:
    frame = b'data: {"choices":[{"index":0,"delta":{"content":"token"}}]}\n\n'
    stream = frame * 20_000
    chunks = [stream[i : i + 1500] for i in range(0, len(stream), 1500)]
    started = time.perf_counter()
    events = _decode(chunks)
    elapsed = time.perf_counter() - started
    assert len(events) == 20_000
    assert elapsed < 2.0, f"parsing 20k events took {elapsed:.2f}s"


def test_data_frame_and_event_frame_round_trip() -> None:
    assert data_frame(b'{"a":1}') == b'data: {"a":1}\n\n'
    assert event_frame("message_stop", b'{"type":"message_stop"}') == (
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    assert DONE_FRAME == b"data: [DONE]\n\n"
    multi = data_frame(b"one\ntwo\r\nthree")
    assert multi == b"data: one\ndata: two\ndata: three\n\n"
    stream = multi + event_frame("e", b"x") + DONE_FRAME
    assert _summary(_decode([stream])) == [(None, b"one\ntwo\nthree"), ("e", b"x"), (None, b"[DONE]")]
