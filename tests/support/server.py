"""A real uvicorn server running the app on a free loopback port, in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any

import uvicorn

from oneapi.app import build_app
from oneapi.config import Settings

TICK = 0.1  # uvicorn's main-loop period: on_tick refreshes the Date header every 10 ticks
POLL = 0.005  # how often shutdown looks whether the connections and tasks are gone


class _PromptServer(uvicorn.Server):
    """uvicorn's Server, stopped without its fixed waits: a test's stop takes ~10 ms, not ~200 ms.

    uvicorn notices `should_exit` at its next 0.1 s tick, then sleeps 0.1 s before waiting for the
    connections in 0.1 s steps. Here `exit()` wakes the main loop at once and shutdown polls every
    5 ms; the steps are uvicorn's own (stop accepting, close connections, wait for them and for
    tasks, then the lifespan shutdown, where the app flushes its batched writes)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()  # set once started, or once the thread ends (failed start)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def exit(self) -> None:
        """Ask the server to stop, from any thread."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed: it has stopped
                loop.call_soon_threadsafe(wake.set)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    async def main_loop(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
            await asyncio.sleep(POLL)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


class LiveServer:
    """Start with `start()`, stop with `stop()`; `url` is http://127.0.0.1:<port>."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: Any = build_app(settings)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", access_log=False)
        self._server = _PromptServer(config)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._server.ready.set()

    def start(self) -> LiveServer:
        self._thread.start()
        if not self._server.ready.wait(30):
            raise RuntimeError("the app did not start within 30 s")
        if not self._server.started:
            raise RuntimeError("the app failed to start; see the log above")
        return self

    @property
    def state(self) -> Any:
        return self.app.state.oneapi

    def stop(self) -> None:
        self._server.exit()
        self._thread.join(timeout=15)
        self._sock.close()
