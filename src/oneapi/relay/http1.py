"""A lean HTTP/1.1 client for the relay's upstream POSTs: a keep-alive pool on httptools.

aiohttp's client was about a quarter of a relayed request's CPU (bench/README.md, round 4); the
relay needs one thing of it, a POST of a bytes body whose answer is read whole or as it comes,
and this module does only that. Failures raise aiohttp's exception types, so the callers treat
both clients alike (the aiohttp session still serves proxies, GETs and everything else).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from typing import cast
from urllib.parse import quote, urlsplit

import aiohttp
import httptools
from multidict import CIMultiDict

HIGH_WATER = 256 * 1024  # buffered body bytes that pause reading from the upstream
CONNECT_TIMEOUT = 30.0  # seconds, as the aiohttp session's sock_connect
_RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class UpstreamConnectError(aiohttp.ClientConnectionError):
    """The upstream could not be reached (refused, unresolvable, TLS handshake failed)."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a URL's requests go: the pool key, the request line's path and the Host header."""

    key: tuple[str, int, bool]  # host, port, tls
    path: str
    host_header: str


@cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def parse_target(url: str) -> Target:
    """The pool key, path and Host header of an http(s) URL; ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    tls = parts.scheme == "https"
    default_port = 443 if tls else 80
    port = parts.port or default_port
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == default_port else f"{shown}:{port}"
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/?%:@!$&'()*+,;=-._~")
    return Target((host, port, tls), path, host_header)


def request_head(target: Target, headers: dict[str, str], length: int) -> bytes:
    """The request line and header block of a POST with a `length`-byte body."""
    lines = [f"POST {target.path} HTTP/1.1\r\nHost: {target.host_header}\r\n"]
    for name, value in headers.items():
        if "\r" in name or "\n" in name or ":" in name or "\r" in value or "\n" in value:
            raise aiohttp.ClientError(f"invalid header {name!r}: a line break, or a colon in its name")
        if name.lower() not in _RESERVED:
            lines.append(f"{name}: {value}\r\n")
    lines.append(f"Content-Length: {length}\r\n\r\n")
    return "".join(lines).encode("utf-8")


class _Stale(Exception):
    """A reused keep-alive connection was closed by the upstream before it answered."""


class Http1Response:
    """One answer: `status` and `headers` once they arrived, the body read whole or as it comes.

    It has the part of aiohttp.ClientResponse the relay uses (`content.iter_any()` included).
    """

    def __init__(self, conn: _Connection) -> None:
        self.status = 0
        self.headers: CIMultiDict[str] = CIMultiDict()
        self._conn: _Connection | None = conn
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False
        self._has_head = False
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def content(self) -> Http1Response:
        """aiohttp's `resp.content.iter_any()` spelling: the body stream is the response itself."""
        return self

    async def iter_any(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive, until the answer is complete: all that is buffered at once
        (one read from the socket carries many chunks of a chunked body)."""
        while True:
            if self._chunks:
                chunks = self._chunks
                chunk = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                self._buffered = 0
                if self._paused:
                    self._resume()
                yield chunk
            elif self._done:
                return
            elif self._error is not None:
                raise self._error
            else:
                await self._wait()

    async def read(self) -> bytes:
        """The whole body."""
        while not self._done:
            if self._error is not None:
                raise self._error
            if self._paused:
                self._resume()  # the caller wants it all: no reason to hold the upstream back
            await self._wait()
        body = b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        return body

    def release(self) -> None:
        """Done with the answer: an unfinished one's connection is closed, not reused."""
        self.close()

    def close(self) -> None:
        self._stop_timer()
        conn, self._conn = self._conn, None
        if conn is not None and not self._done:
            conn.response = None
            conn.abort()

    # -- called by the connection -------------------------------------------------------------

    def _head(self, status: int, raw: list[tuple[bytes, bytes]]) -> None:
        self.status = status
        self.headers = CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)
        self._has_head = True
        self._wake()

    def _feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > HIGH_WATER and not self._paused and self._conn is not None:
            self._paused = True
            self._conn.pause()
        self._wake()

    def _complete(self) -> None:
        self._done = True
        self._stop_timer()
        if self._paused:
            self._resume()
        self._conn = None
        self._wake()

    def _fail(self, error: BaseException) -> None:
        if self._done or self._error is not None:
            return
        self._error = error
        self._stop_timer()
        self._conn = None
        self._wake()

    def _timed_out(self) -> None:
        self._timer = None
        conn = self._conn
        self._fail(TimeoutError("the upstream did not answer within RELAY_TIMEOUT"))
        if conn is not None:
            conn.response = None
            conn.abort()

    # -- internals ------------------------------------------------------------------------------

    async def _wait(self) -> None:
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _resume(self) -> None:
        self._paused = False
        if self._conn is not None:
            self._conn.resume()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _wait_head(self) -> None:
        while not self._has_head:
            if self._error is not None:
                raise self._error
            await self._wait()


class _Connection(asyncio.Protocol):
    """One keep-alive connection: feeds what arrives to the parser, the parser to the response."""

    def __init__(self, pool: Http1Pool, key: tuple[str, int, bool]) -> None:
        self.pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.response: Http1Response | None = None
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.got_bytes = False
        self.reusable = False
        self.closed = False
        self.idle_since = 0.0

    # -- transport events -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not its subclasses

    def data_received(self, data: bytes) -> None:
        if self.response is None:  # bytes that answer nothing: the connection cannot be trusted
            self.abort()
            return
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(aiohttp.ClientPayloadError(f"invalid HTTP answer from the upstream: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        resp, self.response = self.response, None
        if resp is None:
            return
        if not self.got_bytes and self.reusable:
            resp._fail(_Stale())
        elif not resp._has_head:
            resp._fail(aiohttp.ServerDisconnectedError())
        elif self._ends_at_close():
            resp._complete()  # a body without length or chunks ends where the connection does
        else:
            resp._fail(aiohttp.ClientPayloadError("the upstream closed the connection mid-answer"))

    # -- parser callbacks -----------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            self.raw_headers = []  # an interim answer (100 Continue): the real one follows
            return
        if self.response is not None:
            self.response._head(status, self.raw_headers)

    def on_body(self, body: bytes) -> None:
        if self.response is not None:
            self.response._feed(body)

    def on_message_complete(self) -> None:
        resp = self.response
        if resp is None or not resp._has_head:
            return
        self.response = None
        self.raw_headers = []
        keep = self.parser.should_keep_alive()
        resp._complete()
        if keep:
            self.pool.put(self)
        else:
            self.abort()

    # -- for the pool and the response ------------------------------------------------------------

    def send(self, resp: Http1Response, head: bytes, body: bytes) -> None:
        assert self.transport is not None
        self.response = resp
        self.got_bytes = False
        if len(body) < 16384:
            self.transport.write(head + body)
        else:
            self.transport.writelines((head, body))

    def pause(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _ends_at_close(self) -> bool:
        names = {name.lower() for name, _ in self.raw_headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    def _fail(self, error: BaseException) -> None:
        resp, self.response = self.response, None
        if resp is not None:
            resp._fail(error)
        self.abort()


class Http1Pool:
    """Idle keep-alive connections per (host, port, tls); one per worker, like the aiohttp session."""

    def __init__(self, keepalive: float, timeout: float | None, tls: ssl.SSLContext | None = None) -> None:
        self.keepalive = keepalive
        self.timeout = timeout  # the whole request, connect to last byte (RELAY_TIMEOUT); None: none
        self.tls = tls or _tls_context()  # the system's CAs, as aiohttp's default
        self._idle: dict[tuple[str, int, bool], list[_Connection]] = {}
        self._targets: dict[str, Target] = {}
        self._last_sweep = 0.0
        self._closed = False

    async def post(self, url: str, data: bytes, headers: dict[str, str]) -> Http1Response:
        """Send a POST and return once the answer's status and headers are in."""
        target = self._target(url)
        head = request_head(target, headers, len(data))
        loop = asyncio.get_running_loop()
        deadline = None if self.timeout is None else loop.time() + self.timeout
        for attempt in range(2):
            conn = self._take(target.key, loop.time())
            if conn is None:
                conn = await self._connect(target, deadline)
            resp = Http1Response(conn)
            if deadline is not None:
                resp._timer = loop.call_at(deadline, resp._timed_out)
            conn.send(resp, head, data)
            try:
                await resp._wait_head()
            except _Stale:
                if attempt == 0:
                    continue  # the upstream had closed it while idle: once more, on a new one
                raise aiohttp.ServerDisconnectedError() from None
            except BaseException:
                resp.close()
                raise
            return resp
        raise AssertionError("unreachable")

    def put(self, conn: _Connection) -> None:
        """An idle connection, kept for the next request to the same upstream."""
        if self._closed or conn.closed:
            conn.abort()
            return
        now = asyncio.get_running_loop().time()
        conn.reusable = True
        conn.idle_since = now
        self._idle.setdefault(conn.key, []).append(conn)
        if now - self._last_sweep > self.keepalive:
            self._sweep(now)

    async def close(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.abort()
        self._idle.clear()

    def _take(self, key: tuple[str, int, bool], now: float) -> _Connection | None:
        conns = self._idle.get(key)
        while conns:
            conn = conns.pop()  # the most recently used: the least likely to be closed already
            if not conn.closed and now - conn.idle_since < self.keepalive:
                return conn
            conn.abort()
        return None

    def _sweep(self, now: float) -> None:
        """Close connections idle for longer than the keep-alive time."""
        self._last_sweep = now
        for key, conns in list(self._idle.items()):
            fresh = [c for c in conns if not c.closed and now - c.idle_since < self.keepalive]
            for conn in conns:
                if conn not in fresh:
                    conn.abort()
            if fresh:
                self._idle[key] = fresh
            else:
                del self._idle[key]

    def _target(self, url: str) -> Target:
        target = self._targets.get(url)
        if target is None:
            try:
                target = parse_target(url)
            except ValueError as exc:
                raise aiohttp.InvalidURL(url, str(exc)) from None
            if len(self._targets) > 4096:
                self._targets.clear()
            self._targets[url] = target
        return target

    async def _connect(self, target: Target, deadline: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        host, port, tls = target.key
        limit = CONNECT_TIMEOUT if deadline is None else min(CONNECT_TIMEOUT, deadline - loop.time())
        try:
            async with asyncio.timeout(max(0.0, limit)):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self, target.key),
                    host,
                    port,
                    ssl=self.tls if tls else None,
                    server_hostname=host if tls else None,
                )
        except TimeoutError:
            raise aiohttp.ServerTimeoutError(f"connection timeout to host {host}:{port}") from None
        except (OSError, ssl.SSLError) as exc:
            where = f"{host}:{port} ssl:{'default' if tls else 'False'}"
            raise UpstreamConnectError(f"Cannot connect to host {where} [{exc}]") from None
        return conn
