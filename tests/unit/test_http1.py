"""The lean upstream client (relay/http1.py) against a real local HTTP server scripted per test."""

from __future__ import annotations

import asyncio
import datetime
import functools
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from oneapi.relay.http1 import Http1Pool, UpstreamConnectError, parse_target, request_head

Reply = Callable[[bytes, bytes, asyncio.StreamWriter], Awaitable[bool]]  # False: close the connection


def on_loop(case: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run the async test case on a fresh event loop."""

    @functools.wraps(case)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(case(*args, **kwargs))

    return run


class Upstream:
    """A raw HTTP/1.1 server on a free loopback port: records each request, answers with `reply`."""

    def __init__(self, reply: Reply, tls: ssl.SSLContext | None = None) -> None:
        self.reply = reply
        self.tls = tls
        self.requests: list[tuple[int, bytes, bytes]] = []  # (connection number, head, body)
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> Upstream:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for writer in self.writers:
            writer.close()
        self.server.close()

    def url(self, path: str = "/v1/chat/completions", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.requests.append((number, head, body))
                if not await self.reply(head, body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def answer(body: bytes, status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def chunked(*parts: bytes) -> bytes:
    out = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    for part in parts:
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\n\r\n"


async def echo(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(answer(b'{"echo":' + body + b"}"))
    return True


def pool(timeout: float | None = None, tls: ssl.SSLContext | None = None) -> Http1Pool:
    return Http1Pool(keepalive=30, timeout=timeout, tls=tls)


def test_targets_keep_query_port_and_host_header() -> None:
    target = parse_target("https://api.example.com/v1/chat/completions?api-version=2024-02-01")
    assert target.key == ("api.example.com", 443, True)
    assert target.path == "/v1/chat/completions?api-version=2024-02-01"
    assert target.host_header == "api.example.com"
    local = parse_target("http://[::1]:8080/a b")
    assert local.key == ("::1", 8080, False)
    assert local.host_header == "[::1]:8080"
    assert local.path == "/a%20b"
    with pytest.raises(ValueError):
        parse_target("ftp://example.com/x")


def test_request_head_refuses_line_breaks_and_keeps_its_own_framing() -> None:
    target = parse_target("http://up:81/p")
    head = request_head(target, {"Authorization": "Bearer k", "Content-Length": "999"}, 5)
    assert head == b"POST /p HTTP/1.1\r\nHost: up:81\r\nAuthorization: Bearer k\r\nContent-Length: 5\r\n\r\n"
    with pytest.raises(aiohttp.ClientError, match="line break"):
        request_head(target, {"X-Evil": "a\r\nInjected: 1"}, 0)


@on_loop
async def test_answers_are_read_whole_and_the_connection_is_reused() -> None:
    client = pool()
    async with Upstream(echo) as up:
        for n in range(3):
            resp = await client.post(up.url(), b'{"n":%d}' % n, {"Authorization": "Bearer k"})
            assert resp.status == 200
            assert resp.headers.get("content-type") == "application/json"
            assert await resp.read() == b'{"echo":{"n":%d}}' % n
            resp.release()
        assert up.connections == 1
        head = up.requests[0][1]
        assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:")
        assert b"Authorization: Bearer k\r\n" in head
    await client.close()


@on_loop
async def test_a_chunked_stream_comes_as_it_is_sent() -> None:
    gate = asyncio.Event()

    async def stream(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(chunked(b"data: 1\n\n")[:-5])  # headers and the first chunk, not the end
        await gate.wait()
        writer.write(b"9\r\ndata: 2\n\n\r\n0\r\n\r\n")
        return True

    client = pool()
    async with Upstream(stream) as up:
        resp = await client.post(up.url(), b"{}", {})
        pieces = resp.content.iter_any()
        assert await anext(pieces) == b"data: 1\n\n"  # before the upstream has finished
        gate.set()
        rest = [piece async for piece in pieces]
        assert b"".join(rest) == b"data: 2\n\n"
        resp.release()
        again = await client.post(up.url(), b"{}", {})
        gate.set()
        assert await again.read() == b"data: 1\n\ndata: 2\n\n"
        assert up.connections == 1  # a finished chunked answer leaves the connection reusable
    await client.close()


@on_loop
async def test_many_chunks_in_one_read_come_out_as_one_piece() -> None:
    async def burst(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(chunked(*(b"data: %d\n\n" % i for i in range(20))))
        return True

    client = pool()
    async with Upstream(burst) as up:
        resp = await client.post(up.url(), b"{}", {})
        pieces = [piece async for piece in resp.content.iter_any()]
        assert b"".join(pieces) == b"".join(b"data: %d\n\n" % i for i in range(20))
        assert len(pieces) < 5
    await client.close()


@on_loop
async def test_a_body_without_length_ends_with_the_connection() -> None:
    async def until_close(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        await writer.drain()
        return False

    client = pool()
    async with Upstream(until_close) as up:
        resp = await client.post(up.url(), b"{}", {})
        assert await resp.read() == b"all of it"
        await client.post(up.url(), b"{}", {})
        assert up.connections == 2  # Connection: close is never reused
    await client.close()


@on_loop
async def test_an_interim_100_continue_is_skipped() -> None:
    async def interim(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b"{}", "201 Created"))
        return True

    client = pool()
    async with Upstream(interim) as up:
        resp = await client.post(up.url(), b"{}", {})
        assert resp.status == 201
        assert await resp.read() == b"{}"
    await client.close()


@on_loop
async def test_a_keepalive_connection_the_upstream_drops_is_retried_once_on_a_new_one() -> None:
    async def drop_second(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        if len(up.requests) == 2:
            return False  # the second request meets a connection the upstream is closing
        writer.write(answer(b"{}"))
        return True

    client = pool()
    async with Upstream(drop_second) as up:
        assert await (await client.post(up.url(), b"{}", {})).read() == b"{}"
        resp = await client.post(up.url(), b"{}", {})
        assert await resp.read() == b"{}"
        assert [number for number, _, _ in up.requests] == [1, 1, 2]
    await client.close()


@on_loop
async def test_an_idle_connection_closed_by_the_upstream_is_not_taken() -> None:
    async def once(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer(b"{}"))
        await writer.drain()
        return False  # closes right after answering, without saying Connection: close

    client = pool()
    async with Upstream(once) as up:
        assert await (await client.post(up.url(), b"{}", {})).read() == b"{}"
        await asyncio.sleep(0.05)
        assert await (await client.post(up.url(), b"{}", {})).read() == b"{}"
        assert [number for number, _, _ in up.requests] == [1, 2]
    await client.close()


@on_loop
async def test_an_upstream_that_hangs_up_without_answering_is_a_disconnect() -> None:
    async def hang_up(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        return False

    client = pool()
    async with Upstream(hang_up) as up:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await client.post(up.url(), b"{}", {})
    await client.close()


@on_loop
async def test_a_body_cut_short_is_a_payload_error_and_the_connection_is_dropped() -> None:
    async def cut(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer(b'{"long": "answer"}')[:-5])
        await writer.drain()
        return False

    client = pool()
    async with Upstream(cut) as up:
        resp = await client.post(up.url(), b"{}", {})
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
        stream = await client.post(up.url(), b"{}", {})
        with pytest.raises(aiohttp.ClientPayloadError):
            _ = [piece async for piece in stream.content.iter_any()]
        assert up.connections == 2
    await client.close()


@on_loop
async def test_relay_timeout_bounds_the_whole_answer() -> None:
    async def slow(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(chunked(b"first")[:-5])
        await asyncio.sleep(5)
        return False

    client = pool(timeout=0.3)
    async with Upstream(slow) as up:
        started = asyncio.get_running_loop().time()
        resp = await client.post(up.url(), b"{}", {})
        with pytest.raises(TimeoutError):
            _ = [piece async for piece in resp.content.iter_any()]
        assert asyncio.get_running_loop().time() - started < 2
    await client.close()


@on_loop
async def test_an_unreachable_upstream_is_a_connection_error() -> None:
    async with Upstream(echo) as up:
        url = up.url()
    await asyncio.sleep(0.05)
    client = pool()
    with pytest.raises(UpstreamConnectError, match=r"Cannot connect to host 127\.0\.0\.1:\d+") as caught:
        await client.post(url, b"{}", {})
    assert isinstance(caught.value, aiohttp.ClientConnectionError)
    with pytest.raises(aiohttp.InvalidURL):
        await client.post("not a url", b"{}", {})
    await client.close()


@on_loop
async def test_a_large_answer_read_slowly_is_intact() -> None:
    block = bytes(range(256)) * 4096  # 1 MiB, four times the client's buffer

    async def big(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer(block * 3))
        await writer.drain()
        return True

    client = pool()
    async with Upstream(big) as up:
        resp = await client.post(up.url(), b"{}", {})
        received = bytearray()
        async for piece in resp.content.iter_any():
            received += piece
            await asyncio.sleep(0.001)  # a slow reader: the client pauses the upstream meanwhile
        assert bytes(received) == block * 3
        assert await (await client.post(up.url(), b"{}", {})).read() == block * 3
        assert up.connections == 1
    await client.close()


@on_loop
async def test_closing_an_unfinished_answer_drops_its_connection() -> None:
    async def stream(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(chunked(b"first")[:-5])
        return True

    client = pool()
    async with Upstream(stream) as up:
        resp = await client.post(up.url(), b"{}", {})
        assert await anext(resp.content.iter_any()) == b"first"
        resp.close()
        await client.post(up.url(), b"{}", {})
        assert up.connections == 2
    await client.close()


@on_loop
async def test_https_with_the_given_trust(tmp_path: Path) -> None:
    server_tls, client_tls = _self_signed(tmp_path)
    client = pool(tls=client_tls)
    async with Upstream(echo, tls=server_tls) as up:
        resp = await client.post(up.url(scheme="https"), b"1", {})
        assert await resp.read() == b'{"echo":1}'
        untrusting = pool()
        with pytest.raises(UpstreamConnectError, match="ssl:default"):
            await untrusting.post(up.url(scheme="https"), b"1", {})
        await untrusting.close()
    await client.close()


def _self_signed(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh certificate for 127.0.0.1, and a client context trusting it."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@on_loop
async def test_the_relay_posts_through_the_aiohttp_session_when_a_proxy_is_set() -> None:
    from oneapi.config import Settings
    from oneapi.relay.upstream import SessionPoster, open_poster, open_session

    direct = Settings.from_env({"IDLE_TIMEOUT": "7", "RELAY_TIMEOUT": "9"})
    proxied = Settings.from_env({"RELAY_PROXY": "http://127.0.0.1:1"})
    session = open_session(direct)
    lean = open_poster(direct, session)
    assert isinstance(lean, Http1Pool) and (lean.keepalive, lean.timeout) == (7, 9)
    assert isinstance(open_poster(proxied, session), SessionPoster)
    async with Upstream(echo) as up:
        resp = await SessionPoster(session).post(up.url(), b"2", {"Accept-Encoding": "identity"})
        assert (resp.status, await resp.read()) == (200, b'{"echo":2}')
        resp.release()
    await session.close()
