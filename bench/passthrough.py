"""A bare aiohttp pass-through (no auth, no billing, no logs): Python's practical limit for a relay.

It forwards every `POST` to the same path on one upstream over a shared keep-alive session and
pipes the answer back (streams chunk by chunk), so the fake's path modes reach through it.
The benchmark uses it as the yardstick of the issue's "≥ 40% of the bare pass-through" target.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import aiohttp
import uvloop
from aiohttp import web

SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)


async def relay(request: web.Request) -> web.StreamResponse:
    session = request.app[SESSION]
    body = await request.read()
    headers = {"Content-Type": "application/json", "Authorization": "Bearer upstream-key"}
    url = request.app[UPSTREAM] + request.path
    async with session.post(url, data=body, headers=headers) as up:
        content_type = up.headers.get("Content-Type", "application/json")
        if not content_type.startswith("text/event-stream"):
            return web.Response(body=await up.read(), status=up.status, content_type="application/json")
        out = web.StreamResponse(status=up.status, headers={"Content-Type": content_type})
        await out.prepare(request)
        async for chunk in up.content.iter_any():
            await out.write(chunk)
        await out.write_eof()
        return out


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def session_context(app: web.Application) -> AsyncIterator[None]:
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
    app[SESSION] = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60))
    yield
    await app[SESSION].close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9300)
    parser.add_argument("--upstream", required=True, help="base URL, e.g. http://127.0.0.1:9100")
    args = parser.parse_args()
    app = web.Application()
    app[UPSTREAM] = args.upstream.rstrip("/")
    app.cleanup_ctx.append(session_context)
    app.router.add_post("/{tail:.*}", relay)
    app.router.add_get("/health", health)
    web.run_app(
        app, host=args.host, port=args.port, access_log=None, print=None, loop=uvloop.new_event_loop()
    )


if __name__ == "__main__":
    main()
