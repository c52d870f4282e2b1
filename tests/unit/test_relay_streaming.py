"""RelayStreamingResponse: headers with the first chunk, a leaving client stops the stream cleanly."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from oneapi.relay.streaming import RelayStreamingResponse

SCOPE: dict[str, Any] = {"type": "http", "asgi": {"spec_version": "2.3"}}


def on_loop(case: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run the async test case on a fresh event loop."""

    @functools.wraps(case)
    def run() -> None:
        asyncio.run(case())

    return run


class Peer:
    """An ASGI server's side of one request: records what was sent; `leave()` disconnects."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.gone = asyncio.Event()
        self.on_body: asyncio.Event = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body":
            self.on_body.set()
            if not message.get("more_body"):
                self.gone.set()  # as uvicorn: receive() says http.disconnect once the answer is complete

    def leave(self) -> None:
        self.gone.set()

    @property
    def bodies(self) -> list[bytes]:
        return [m["body"] for m in self.sent if m["type"] == "http.response.body"]


class Source:
    """An upstream stand-in: chunks fed by the test; records whether its `finally` ran."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = False
        self.yielded = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            while (chunk := await self.queue.get()) is not None:
                self.yielded += 1
                yield chunk
        finally:
            self.closed = True


@on_loop
async def test_headers_wait_for_the_first_chunk_and_go_out_with_it() -> None:
    peer, source = Peer(), Source()
    response = RelayStreamingResponse(source.chunks(), media_type="text/event-stream")
    task = asyncio.create_task(response(SCOPE, peer.receive, peer.send))
    await asyncio.sleep(0.01)
    assert peer.sent == []  # no status line before there is a byte to send
    await source.queue.put(b"data: 1\n\n")
    await peer.on_body.wait()
    assert [m["type"] for m in peer.sent] == ["http.response.start", "http.response.body"]
    assert peer.sent[0]["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in peer.sent[0]["headers"]
    await source.queue.put(b"data: 2\n\n")
    await source.queue.put(None)
    await task
    assert peer.bodies == [b"data: 1\n\n", b"data: 2\n\n", b""]
    assert peer.sent[-1]["more_body"] is False
    assert source.closed


@on_loop
async def test_an_empty_stream_still_answers_with_headers_and_an_end() -> None:
    peer, source = Peer(), Source()
    await source.queue.put(None)
    await RelayStreamingResponse(source.chunks(), status_code=201)(SCOPE, peer.receive, peer.send)
    assert [m["type"] for m in peer.sent] == ["http.response.start", "http.response.body"]
    assert peer.sent[0]["status"] == 201
    assert peer.bodies == [b""]


async def _one_chunk_sent() -> tuple[Peer, Source, asyncio.Task[None]]:
    """A stream under way: its first chunk reached the client, the upstream has more to come."""
    peer, source = Peer(), Source()
    task = asyncio.create_task(RelayStreamingResponse(source.chunks())(SCOPE, peer.receive, peer.send))
    await source.queue.put(b"one")
    await peer.on_body.wait()
    return peer, source, task


@on_loop
async def test_a_client_that_leaves_stops_the_stream_and_runs_its_finally() -> None:
    peer, source, task = await _one_chunk_sent()
    peer.leave()
    await asyncio.wait_for(task, 2)  # returns quietly: no CancelledError escapes to the server
    assert not task.cancelled()
    assert source.closed
    assert source.yielded == 1
    assert peer.bodies == [b"one"]  # and no end-of-body after the client left


@on_loop
async def test_a_server_cancel_is_not_mistaken_for_a_leaving_client() -> None:
    _, source, task = await _one_chunk_sent()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert source.closed


@on_loop
async def test_the_end_of_a_complete_answer_is_not_a_leave() -> None:
    """uvicorn's receive() reports http.disconnect once the answer is complete; that must not
    cancel whatever the task does after the stream (here: a background step)."""
    peer, source = Peer(), Source()
    ran: list[str] = []

    async def background() -> None:
        await asyncio.sleep(0.01)
        ran.append("background")

    response = RelayStreamingResponse(source.chunks())
    response.background = background  # type: ignore[assignment]
    await source.queue.put(b"one")
    await source.queue.put(None)
    await response(SCOPE, peer.receive, peer.send)
    assert ran == ["background"]


@on_loop
async def test_a_failure_before_the_first_chunk_sends_nothing_so_an_error_status_can_follow() -> None:
    peer = Peer()

    async def broken() -> AsyncIterator[bytes]:
        raise RuntimeError("upstream exploded")
        yield b""  # pragma: no cover

    with pytest.raises(RuntimeError):
        await RelayStreamingResponse(broken())(SCOPE, peer.receive, peer.send)
    assert peer.sent == []


@on_loop
async def test_an_asgi_24_server_raising_on_a_closed_connection_ends_the_stream() -> None:
    source = Source()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and sent:
            raise OSError("connection reset")
        sent.append(message)

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    for chunk in (b"one", b"two", b"three"):
        await source.queue.put(chunk)
    scope = {"type": "http", "asgi": {"spec_version": "2.4"}}
    await asyncio.wait_for(RelayStreamingResponse(source.chunks())(scope, receive, send), 2)
    assert source.closed
    assert [m["type"] for m in sent] == ["http.response.start"]


class UpstreamAnswer:
    """An upstream answer for relay_stream: `content.iter_any()` yields what the test queues."""

    def __init__(self, source: Source) -> None:
        self.content = self
        self.source = source
        self.closed = False

    def iter_any(self) -> AsyncIterator[bytes]:
        return self.source.chunks()

    def close(self) -> None:
        self.closed = True


class StuckPeer(Peer):
    """A client whose socket stops taking bytes (the server's send waits) once `stuck` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.stuck = False

    async def send(self, message: dict[str, Any]) -> None:
        await super().send(message)
        if self.stuck:
            await asyncio.Event().wait()


CLAUDE_START = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message",'
    b'"role":"assistant","model":"claude-x","content":[],"usage":{"input_tokens":12,"output_tokens":1}}}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    b'"content_block":{"type":"text","text":""}}\n\n'
)
CLAUDE_END = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"Hi"}}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
    b'"usage":{"output_tokens":9}}\n\n'
)


@on_loop
async def test_a_forwarded_chunk_is_billed_even_if_the_client_leaves_before_it_is_read() -> None:
    """The fast lane forwards a chunk before reading it for usage; a client that leaves while
    that chunk is still being written must not take the chunk's usage with it."""
    from types import SimpleNamespace

    from oneapi.relay import ir
    from oneapi.relay.codecs import ANTHROPIC_MESSAGES, Caller, codec
    from oneapi.relay.stream_convert import relay_stream

    settled: list[ir.Response] = []
    source, peer = Source(), StuckPeer()
    upstream = UpstreamAnswer(source)
    job: Any = SimpleNamespace(model="claude-x", request_id="r1")
    claude = codec(ANTHROPIC_MESSAGES)
    response = relay_stream(
        job, Caller("claude-x"), upstream, claude, claude, settled.append, rename=False, passthrough=True
    )
    task = asyncio.create_task(response(SCOPE, peer.receive, peer.send))
    await source.queue.put(CLAUDE_START)
    await peer.on_body.wait()
    peer.stuck = True
    await source.queue.put(CLAUDE_END)
    while len(peer.bodies) < 2:
        await asyncio.sleep(0.001)
    assert peer.bodies == [CLAUDE_START, CLAUDE_END]  # the bytes went out unchanged, then it left
    peer.leave()
    await asyncio.wait_for(task, 2)
    assert upstream.closed
    assert len(settled) == 1
    usage = settled[0].usage
    assert usage is not None and (usage.input_tokens, usage.output_tokens) == (12, 9)
