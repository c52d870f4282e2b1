"""What a failed attempt does to its channel (SPEC §4.4), and the error a client finally sees (§4.3)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import update

from oneapi.db.tables import abilities, channels
from oneapi.relay.channel import Channel
from oneapi.relay.errors import RelayError
from oneapi.relay.runtime import RelayRuntime
from oneapi.relay.upstream_errors import is_auth_failure, should_disable, suggests_retry
from oneapi.services.roles import CHANNEL_AUTO_DISABLED
from oneapi.state import AppState

log = logging.getLogger(__name__)
_background: set[asyncio.Task[None]] = set()


def after_failure(
    state: AppState, rt: RelayRuntime, group: str, model: str, channel: Channel, err: RelayError
) -> None:
    """Suspend or disable the channel as One API does; never raises."""
    settings = state.settings
    if err.type == "one_api_error" and err.status < 500:
        return
    if err.status == 429:
        rt.directory.suspend(group, model, channel.id, settings.channel_suspend_seconds_for_429)
        return
    if err.status == 413 or err.status == 400:
        return
    if is_auth_failure(err):
        rt.directory.suspend(group, model, channel.id, settings.channel_suspend_seconds_for_auth)
    elif err.status >= 500:
        if not suggests_retry(err):
            rt.directory.suspend(group, model, channel.id, settings.channel_suspend_seconds_for_5xx)
        return
    if state.options.get_bool("AutomaticDisableChannelEnabled") and should_disable(err):
        task = asyncio.create_task(disable_channel(state, rt, channel.id, err.message))
        _background.add(task)
        task.add_done_callback(_background.discard)


async def disable_channel(state: AppState, rt: RelayRuntime, channel_id: int, reason: str) -> None:
    """Status 3 (auto-disabled) and its abilities off, in one transaction."""
    try:
        async with state.db.main.begin() as conn:
            await conn.execute(
                update(channels).where(channels.c.id == channel_id).values(status=CHANNEL_AUTO_DISABLED)
            )
            await conn.execute(
                update(abilities).where(abilities.c.channel_id == channel_id).values(enabled=False)
            )
        rt.directory.invalidate()
        log.warning("channel #%d disabled automatically: %s", channel_id, reason)
    except Exception:
        log.exception("could not disable channel #%d", channel_id)


def final_error(err: RelayError, channels_tried: int) -> RelayError:
    """The last attempt's error; a rate limit says the whole group is saturated."""
    if err.status != 429:
        return err
    if channels_tried > 1:
        message = (
            f"All available channels ({channels_tried}) for this model are currently rate limited, "
            "please try again later"
        )
    else:
        message = "The current group load is saturated, please try again later"
    return RelayError(429, message, err.code, type=err.type, param=err.param)
