"""A real aiohttp server on a loopback port, driven by its own event loop in a daemon thread.

The base of the fake upstreams: subclasses implement `_handle` and call `_record` to keep what
each request carried (method, path, query, headers, JSON-decoded body) in `received`.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


class ThreadedServer:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Any:
        """Start serving; returns self (typed Any so subclasses keep their own type at call sites)."""
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self._loop.run_forever()

    async def _record(self, request: web.Request) -> tuple[bytes, Any]:
        """Read the request, keep it in `received`; (raw body, JSON body or the raw bytes)."""
        raw = await request.read()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw
        self.received.append(
            Received(request.method, request.path, request.query_string, dict(request.headers), body)
        )
        return raw, body

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError
