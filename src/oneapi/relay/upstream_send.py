"""Send one request body upstream through the channel's provider and read the answer.

Connection failures, timeouts, non-2xx answers and a JSON error answered to a stream request
become `RelayError`s (SPEC §4.6), which the pipeline's retry loop acts on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp

from oneapi.relay.channel import Channel
from oneapi.relay.errors import RelayError
from oneapi.relay.modes import Mode
from oneapi.relay.providers.base import ChannelConfigError
from oneapi.relay.providers.registry import provider_for
from oneapi.relay.upstream import IDENTITY, UpstreamResponse
from oneapi.relay.upstream_errors import upstream_error

if TYPE_CHECKING:
    from oneapi.relay.pipeline import Job


async def send(
    job: Job,
    channel: Channel,
    upstream_model: str,
    payload: bytes,
    headers: dict[str, str] | None = None,
    path: str | None = None,
    mode: Mode | None = None,
    content_type: str = "application/json",
) -> UpstreamResponse:
    """POST `payload` to the channel's provider (at `path`/`mode` when the upstream speaks another
    format than the caller); an upstream failure is raised as a RelayError."""
    provider = provider_for(channel.type)
    try:
        call = provider.prepare(channel, path or job.path, upstream_model, mode or job.mode)
    except ChannelConfigError as exc:
        raise RelayError(
            500, f"channel #{channel.id} is misconfigured: {exc}", "channel_config_error"
        ) from None
    all_headers = {**IDENTITY, **call.headers, **(headers or {}), "Content-Type": content_type}
    try:
        resp = await job.rt.upstream.post(call.url, payload, all_headers)
    except TimeoutError:
        raise RelayError(504, "upstream request timed out", "upstream_timeout") from None
    except aiohttp.ClientError as exc:
        raise RelayError(
            502, f"do request failed: {exc}", "do_request_failed", type="upstream_error"
        ) from None
    content_type = resp.headers.get("Content-Type", "")
    if resp.status not in (200, 201) or (job.stream and content_type.startswith("application/json")):
        try:
            data = await resp.read()
        except (aiohttp.ClientError, TimeoutError):
            data = b""
        finally:
            resp.release()
        raise upstream_error(resp.status, data)
    return resp


async def read_all(resp: UpstreamResponse) -> bytes:
    """The whole body of a non-stream answer; read failures become RelayErrors."""
    try:
        return await resp.read()
    except TimeoutError:
        raise RelayError(504, "upstream response timed out", "upstream_timeout") from None
    except aiohttp.ClientError as exc:
        raise RelayError(
            502, f"reading the upstream response failed: {exc}", "read_response_failed", type="upstream_error"
        ) from None
    finally:
        resp.release()
