"""Requests passed to an upstream as they are, and their answers streamed back untouched.

Shared by the raw proxy and the stored-response routes: one place turns connection failures
into RelayErrors, and one body iterator releases the connection for reuse when the answer was
read to its end (closes it otherwise) and then runs the caller's `done` hook.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from oneapi.relay.errors import RelayError


async def request_upstream(
    http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], data: Any
) -> aiohttp.ClientResponse:
    """The upstream's answer (any status); a timeout or connection failure as a RelayError."""
    try:
        return await http.request(method, url, headers=headers, data=data, allow_redirects=False)
    except TimeoutError:
        raise RelayError(504, "upstream request timed out", "upstream_timeout") from None
    except (aiohttp.ClientError, ValueError) as exc:
        raise RelayError(
            502, f"do request failed: {exc}", "do_request_failed", type="upstream_error"
        ) from None


async def stream_body(
    upstream: aiohttp.ClientResponse, done: Callable[[], None] | None = None
) -> AsyncIterator[bytes]:
    """The upstream body chunk by chunk; a broken upstream ends the body where it broke."""
    complete = False
    try:
        async for chunk in upstream.content.iter_any():
            yield chunk
        complete = True
    except (aiohttp.ClientError, TimeoutError):
        return
    finally:
        if complete:
            upstream.release()
        else:
            upstream.close()
        if done is not None:
            done()
