"""The relay's streaming answer: Starlette's StreamingResponse, cheaper per stream and per first byte.

Two differences, both measured in bench/ (README, round 3):
- uvicorn speaks ASGI 2.3, for which Starlette opens an anyio task group per stream (two tasks and
  a cancel scope) only to notice a client that leaves. Here one plain task waits for
  `http.disconnect` and cancels the stream; the stream's own `finally` (closing the upstream,
  settling the bill) runs exactly as before.
- The status line and headers wait for the first chunk and are written right before it (not while
  it is still on its way, as Go One API flushes its headers with the first event), so a stream
  that fails before its first chunk can still be answered with a clean error status.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


async def _client_left(receive: Receive) -> None:
    """Returns once the server reports the connection gone (or the answer complete)."""
    while (await receive())["type"] != "http.disconnect":
        pass


class RelayStreamingResponse(StreamingResponse):
    """A streaming answer that stops, and closes its iterator, as soon as the client disconnects."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        left = finished = False

        def on_left(watch: asyncio.Future[None]) -> None:
            nonlocal left
            if finished or watch.cancelled() or watch.exception() is not None or task is None:
                return
            left = True
            task.cancel()

        watcher = asyncio.ensure_future(_client_left(receive))
        watcher.add_done_callback(on_left)
        try:
            await self._send_chunks(send)
            finished = True  # the answer is complete: the connection's end is not a leave
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not left or task is None:
                raise
            task.uncancel()  # the client left: the stream ends here, quietly
        except OSError:
            pass  # ASGI 2.4 servers raise on a closed connection: the client left
        finally:
            finished = True
            watcher.cancel()
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()  # an unfinished stream's `finally` runs now, not at collection
        if self.background is not None:
            await self.background()

    async def _send_chunks(self, send: Send) -> None:
        """Every chunk; the status line and headers with the first one (or alone if none)."""
        start = {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        started = False
        async for chunk in self.body_iterator:
            if not started:
                started = True
                await send(start)
            body = chunk.encode(self.charset) if isinstance(chunk, str) else chunk
            await send({"type": "http.response.body", "body": body, "more_body": True})
        if not started:
            await send(start)
