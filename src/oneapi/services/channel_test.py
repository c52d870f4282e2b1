"""Channel tests (SPEC §4.5): one real chat request through a channel, and the sweep over many.

A test is free (no quota, no log row). It measures the channel (`response_time` in ms, 0 when it
failed; `test_time`) and keeps its status honest: with option AutomaticDisableChannelEnabled a
failing enabled channel is auto-disabled (status 3), with AutomaticEnableChannelEnabled an
auto-disabled channel that answers again is enabled. A single test disables only on the failures
One API's ShouldDisableChannel names; the sweep on any failure, a reply slower than option
ChannelDisableThreshold seconds included. A manually disabled channel (status 2) is tested but
never re-enabled: only its operator turns it back on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import channels
from oneapi.relay import ir
from oneapi.relay.channel import Channel
from oneapi.relay.codecs import OPENAI_CHAT, codec
from oneapi.relay.errors import RelayError
from oneapi.relay.failures import disable_channel
from oneapi.relay.modes import Mode
from oneapi.relay.providers.base import ChannelConfigError
from oneapi.relay.providers.registry import provider_for
from oneapi.relay.upstream_errors import should_disable, upstream_error
from oneapi.services import abilities
from oneapi.services.channel_jobs import ChannelJobs, jobs_of
from oneapi.services.channels import not_found
from oneapi.services.keys import now_ms, now_s
from oneapi.services.roles import CHANNEL_AUTO_DISABLED, CHANNEL_ENABLED
from oneapi.state import AppState

log = logging.getLogger(__name__)

DEFAULT_TEST_MODEL = "gpt-4o-mini"
TEST_TIMEOUT = 120  # seconds a test may take when RELAY_TIMEOUT sets no limit
SCOPES = ("all", "disabled")
SWEEP_JOB = "test"


class ChannelTestError(Exception):
    """The test cannot start (unknown channel, a model the channel does not serve)."""


@dataclass(frozen=True)
class ProbeResult:
    """What one test request gave: the reply text, or the error that ended it."""

    model: str
    elapsed: float  # seconds, measured whatever the outcome
    reply: str = ""
    error: RelayError | None = None

    @property
    def answered(self) -> bool:
        return self.error is None

    @property
    def latency_ms(self) -> int:
        """The stored response_time: the measured latency of an answer, 0 for a failure."""
        return round(self.elapsed * 1000) if self.answered else 0

    def body(self) -> dict[str, Any]:
        """The flat answer of GET /api/channel/test/:id."""
        return {
            "success": self.answered,
            "message": self.reply if self.error is None else self.error.message,
            "time": self.latency_ms / 1000,
            "modelName": self.model,
        }


async def load_channel(engine: AsyncEngine, channel_id: int) -> tuple[Channel, str]:
    """The channel as the relay sees it, and its stored `testing_model`."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(channels).where(channels.c.id == channel_id))).mappings().first()
    if row is None:
        raise ChannelTestError(str(not_found(channel_id)))
    return Channel.from_row(row), (row["testing_model"] or "").strip()


def pick_model(channel: Channel, testing_model: str, requested: str) -> str:
    """`?model=` → the channel's testing_model → its first model → gpt-4o-mini.

    A channel with no model list serves every model; otherwise a requested model must be one of
    its models, and a stale testing_model (no longer served) is passed over.
    """
    requested = requested.strip()
    if requested:
        if channel.models and requested not in channel.models:
            raise ChannelTestError(f"Channel #{channel.id} does not support the model {requested}")
        return requested
    if testing_model and (not channel.models or testing_model in channel.models):
        return testing_model
    return channel.models[0] if channel.models else DEFAULT_TEST_MODEL


def _reply_text(data: bytes, protocol: str) -> str:
    """The text of the upstream's answer, read in the channel's own wire format."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise RelayError(502, "the upstream's answer is not JSON", "bad_response", "upstream_error") from None
    if not isinstance(obj, dict):
        raise RelayError(502, "the upstream's answer is not a JSON object", "bad_response", "upstream_error")
    if protocol == OPENAI_CHAT:
        choices = obj.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise RelayError(502, "response has no choices", "bad_response", "upstream_error")
        message = choices[0].get("message")
        content = message.get("content") if isinstance(message, dict) else None
    else:
        try:
            answer = codec(protocol).read_response(obj)
        except ValueError as exc:
            raise RelayError(502, f"unreadable response: {exc}", "bad_response", "upstream_error") from None
        content = "".join(p.text for p in answer.content if isinstance(p, ir.TextPart))
    if not isinstance(content, str) or not content:
        raise RelayError(502, "response content is empty", "empty_response", "upstream_error")
    return content


async def _ask(state: AppState, channel: Channel, model: str) -> str:
    """Send the test prompt through the channel's provider; its reply, or a RelayError."""
    settings = state.settings
    provider = provider_for(channel.type)
    upstream_model = channel.upstream_model(model)
    body: dict[str, Any] = {
        "model": upstream_model,
        "max_tokens": settings.test_max_tokens,
        "messages": [{"role": "user", "content": settings.test_prompt}],
    }
    protocol = provider.protocols(channel, upstream_model)[0]
    mode = Mode.RESPONSES if protocol == "openai_responses" else Mode.CHAT
    if protocol != OPENAI_CHAT:  # e.g. an Anthropic channel: the same test, in the channel's own protocol
        body = codec(protocol).write_request(codec(OPENAI_CHAT).read_request(body))
    provider.adjust_body(body, upstream_model, mode, settings)
    try:
        path = provider.path_for(channel, protocol, upstream_model, False, settings)
        call = provider.prepare(channel, path, upstream_model, mode)
    except ChannelConfigError as exc:
        raise RelayError(500, f"channel is misconfigured: {exc}", "channel_config_error") from None
    # The shared session does not decompress (the relay forwards bytes as they come): ask for none.
    headers = {**call.headers, "Content-Type": "application/json", "Accept-Encoding": "identity"}
    timeout = aiohttp.ClientTimeout(total=settings.relay_timeout or TEST_TIMEOUT)
    try:
        async with state.relay.http.post(
            call.url, data=orjson.dumps(body), headers=headers, timeout=timeout
        ) as resp:
            data = await resp.read()
            status = resp.status
    except TimeoutError:
        raise RelayError(504, "upstream request timed out", "upstream_timeout") from None
    except aiohttp.ClientError as exc:
        raise RelayError(502, f"do request failed: {exc}", "do_request_failed", "upstream_error") from None
    if status not in (200, 201):
        raise upstream_error(status, data)
    return _reply_text(data, protocol)


async def probe(state: AppState, channel: Channel, model: str) -> ProbeResult:
    """One timed test request; never raises for an upstream failure."""
    started = time.perf_counter()
    try:
        reply = await _ask(state, channel, model)
    except RelayError as err:
        return ProbeResult(model, time.perf_counter() - started, error=err)
    return ProbeResult(model, time.perf_counter() - started, reply=reply)


async def record(engine: AsyncEngine, channel_id: int, response_ms: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(channels)
            .where(channels.c.id == channel_id)
            .values(response_time=response_ms, test_time=now_s())
        )


async def enable_channel(state: AppState, channel_id: int) -> bool:
    """Status 1 and abilities on again, only if the channel is still auto-disabled."""
    async with state.db.main.begin() as conn:
        result = await conn.execute(
            update(channels)
            .where(channels.c.id == channel_id, channels.c.status == CHANNEL_AUTO_DISABLED)
            .values(status=CHANNEL_ENABLED, updated_at=now_ms())
        )
        if result.rowcount == 0:
            return False
        await abilities.set_enabled(conn, channel_id, True)
    state.relay.directory.invalidate()
    log.info("channel #%d enabled automatically: its test succeeded", channel_id)
    return True


async def settle_status(state: AppState, channel: Channel, failure: RelayError | None, strict: bool) -> None:
    """Disable a failing enabled channel, enable a recovered auto-disabled one, as the options allow.

    `strict` (the sweep) disables on any failure; otherwise only on ShouldDisableChannel's failures.
    """
    options = state.options
    if failure is None:
        if channel.status == CHANNEL_AUTO_DISABLED and options.get_bool("AutomaticEnableChannelEnabled"):
            await enable_channel(state, channel.id)
        return
    if channel.status != CHANNEL_ENABLED or not options.get_bool("AutomaticDisableChannelEnabled"):
        return
    if strict or should_disable(failure):
        await disable_channel(state, state.relay, channel.id, failure.message)


async def test_channel(state: AppState, channel_id: int, requested_model: str = "") -> ProbeResult:
    """GET /api/channel/test/:id: test now, store the latency, adjust the status."""
    channel, testing_model = await load_channel(state.db.main, channel_id)
    result = await probe(state, channel, pick_model(channel, testing_model, requested_model))
    await record(state.db.main, channel.id, result.latency_ms)
    await settle_status(state, channel, result.error, strict=False)
    return result


async def _ids_in(engine: AsyncEngine, scope: str) -> list[int]:
    stmt = select(channels.c.id).order_by(channels.c.id)
    if scope == "disabled":
        stmt = stmt.where(channels.c.status != CHANNEL_ENABLED)
    async with engine.connect() as conn:
        return [int(i) for i in (await conn.execute(stmt)).scalars()]


async def _sweep_one(state: AppState, channel_id: int, threshold_ms: float) -> None:
    try:
        channel, testing_model = await load_channel(state.db.main, channel_id)
    except ChannelTestError:
        return  # deleted since the sweep started
    result = await probe(state, channel, pick_model(channel, testing_model, ""))
    failure = result.error
    slow = channel.status == CHANNEL_ENABLED and 0 < threshold_ms < result.latency_ms
    if failure is None and slow:
        message = f"Response time {result.elapsed:.2f}s exceeds threshold {threshold_ms / 1000:.2f}s"
        failure = RelayError(504, message, "response_too_slow")
    if failure is not None:
        log.warning("channel #%d (%s) failed its test: %s", channel.id, channel.name, failure.message)
    await record(state.db.main, channel.id, result.latency_ms)
    await settle_status(state, channel, failure, strict=True)


async def sweep(state: AppState, scope: str = "all") -> None:
    """Test the channels of `scope` one at a time, POLLING_INTERVAL seconds apart."""
    ids = await _ids_in(state.db.main, scope)
    threshold_ms = state.options.get_float("ChannelDisableThreshold") * 1000
    for index, channel_id in enumerate(ids):
        if index and state.settings.polling_interval:
            await asyncio.sleep(state.settings.polling_interval)
        try:
            await _sweep_one(state, channel_id, threshold_ms)
        except Exception:  # one channel's trouble (a database hiccup) must not end the sweep
            log.exception("testing channel #%d failed", channel_id)
    log.info("channel test finished: %d channels tested", len(ids))


def start_sweep(state: AppState, scope: str) -> bool:
    """Start the sweep in the background; False if one is already running."""
    return jobs_of(state).start(SWEEP_JOB, lambda: sweep(state, scope))


def start_channel_jobs(state: AppState) -> ChannelJobs:
    """At start-up: the worker's job runner, with the periodic sweep of CHANNEL_TEST_FREQUENCY minutes."""
    jobs = jobs_of(state)
    minutes = state.settings.channel_test_frequency
    if minutes > 0 and not state.settings.is_slave:
        jobs.every(minutes, SWEEP_JOB, lambda: sweep(state, "all"))
    return jobs
