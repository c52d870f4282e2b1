"""Channel balances (SPEC §7.2): ask the vendor how much credit a channel's key has left.

OpenAI-style channels (OpenAI, custom, OpenAI-compatible) answer the old dashboard API:
`/v1/dashboard/billing/subscription` (hard limit, USD) minus `/v1/dashboard/billing/usage`
(cents, since the 1st of the month, or the last 100 days without a payment method). A handful of
vendors have their own endpoint; each is one entry of BALANCE_APIS. Requests go to the channel's
base URL when it has one, else to the vendor's address. The figure is stored as the vendor gives
it (DeepSeek and SiliconFlow answer in CNY). Azure and every other type: "not supported".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from sqlalchemy import select, update

from oneapi.db.tables import channels
from oneapi.relay.channel import Channel
from oneapi.relay.failures import disable_channel
from oneapi.relay.modes import Mode
from oneapi.relay.providers.base import ChannelConfigError
from oneapi.relay.providers.registry import provider_for
from oneapi.services.channel_jobs import jobs_of
from oneapi.services.channel_types import default_base_url, type_name
from oneapi.services.channels import not_found
from oneapi.services.keys import now_s
from oneapi.services.roles import CHANNEL_ENABLED
from oneapi.state import AppState

log = logging.getLogger(__name__)

BALANCE_TIMEOUT = 30  # seconds
OPENAI_STYLE = frozenset({1, 8, 50})  # OpenAI, custom, OpenAI-compatible
BALANCE_JOB = "balance"


class BalanceError(Exception):
    """The balance could not be read; the message says why."""


def _number(value: Any, what: str) -> float:
    """A JSON number or a numeric string (several vendors quote their amounts)."""
    if isinstance(value, bool):
        raise BalanceError(f"{what} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BalanceError(f"{what} is not a number: {value!r}") from None


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BalanceError(f"the answer has no {what} object")
    return value


def _total_available(obj: dict[str, Any]) -> float:
    return _number(obj.get("total_available"), "total_available")


def _total_remaining(obj: dict[str, Any]) -> float:
    return _number(obj.get("total_remaining"), "total_remaining")


def _openai_sb(obj: dict[str, Any]) -> float:
    if not isinstance(obj.get("data"), dict):
        raise BalanceError(str(obj.get("msg") or "the answer has no data"))
    return _number(obj["data"].get("credit"), "credit")


def _aiproxy(obj: dict[str, Any]) -> float:
    if not obj.get("success"):
        raise BalanceError(f"code: {obj.get('error_code')}, message: {obj.get('message')}")
    return _number(_dict(obj.get("data"), "data").get("totalPoints"), "totalPoints")


def _siliconflow(obj: dict[str, Any]) -> float:
    if obj.get("code") != 20000:
        raise BalanceError(f"code: {obj.get('code')}, message: {obj.get('message')}")
    return _number(_dict(obj.get("data"), "data").get("totalBalance"), "totalBalance")


def _deepseek(obj: dict[str, Any]) -> float:
    for info in obj.get("balance_infos") or []:
        if isinstance(info, dict) and info.get("currency") == "CNY":
            return _number(info.get("total_balance"), "total_balance")
    raise BalanceError("currency CNY not found")


def _openrouter(obj: dict[str, Any]) -> float:
    data = _dict(obj.get("data"), "data")
    return _number(data.get("total_credits"), "total_credits") - _number(
        data.get("total_usage", 0), "total_usage"
    )


@dataclass(frozen=True)
class BalanceApi:
    """A vendor's balance endpoint: `path` under the base URL, how to read the answer."""

    path: str  # may hold `{key}` (URL-quoted channel key)
    read: Callable[[dict[str, Any]], float]
    home: str = ""  # the vendor's billing address when it is not the type's default base URL
    key_header: str = ""  # the header carrying the bare key; "" = `Authorization: Bearer <key>`


BALANCE_APIS: dict[int, BalanceApi] = {
    4: BalanceApi("/dashboard/billing/credit_grants", _total_available),  # CloseAI
    5: BalanceApi("/sb-api/user/status?api_key={key}", _openai_sb),  # OpenAI-SB
    10: BalanceApi(
        "/api/report/getUserOverview", _aiproxy, home="https://aiproxy.io", key_header="Api-Key"
    ),  # AIProxy
    12: BalanceApi("/dashboard/billing/credit_grants", _total_remaining),  # API2GPT
    13: BalanceApi("/dashboard/billing/credit_grants", _total_available),  # AIGC2D
    20: BalanceApi("/v1/credits", _openrouter),  # OpenRouter (base https://openrouter.ai/api)
    36: BalanceApi("/user/balance", _deepseek),  # DeepSeek
    44: BalanceApi("/v1/user/info", _siliconflow),  # SiliconFlow
}


def supports_balance(channel_type: int) -> bool:
    return channel_type in OPENAI_STYLE or channel_type in BALANCE_APIS


async def _get_json(state: AppState, url: str, headers: dict[str, str]) -> dict[str, Any]:
    headers = {**headers, "Accept": "application/json", "Accept-Encoding": "identity"}
    try:
        async with state.relay.http.get(
            url, headers=headers, timeout=aiohttp.ClientTimeout(total=BALANCE_TIMEOUT)
        ) as resp:
            data = await resp.read()
            status = resp.status
    except TimeoutError:
        raise BalanceError("the balance request timed out") from None
    except aiohttp.ClientError as exc:
        raise BalanceError(f"the balance request failed: {exc}") from None
    if status != 200:
        raise BalanceError(f"status code: {status}")
    try:
        return _dict(orjson.loads(data), "JSON")
    except orjson.JSONDecodeError:
        raise BalanceError("the balance answer is not JSON") from None


async def _openai_balance(state: AppState, channel: Channel) -> float:
    provider = provider_for(channel.type)
    bearer = {"Authorization": f"Bearer {channel.key}"}
    try:
        subscription_url = provider.url(channel, "/v1/dashboard/billing/subscription", "", Mode.CHAT)
        usage_url = provider.url(channel, "/v1/dashboard/billing/usage", "", Mode.CHAT)
    except ChannelConfigError as exc:
        raise BalanceError(str(exc)) from None
    subscription = await _get_json(state, subscription_url, bearer)
    hard_limit = _number(subscription.get("hard_limit_usd"), "hard_limit_usd")
    today = date.today()
    start = today.replace(day=1) if subscription.get("has_payment_method") else today - timedelta(days=100)
    usage = await _get_json(state, f"{usage_url}?start_date={start}&end_date={today}", bearer)
    return hard_limit - _number(usage.get("total_usage", 0), "total_usage") / 100


async def _vendor_balance(state: AppState, channel: Channel, api: BalanceApi) -> float:
    base = (channel.base_url or api.home or default_base_url(channel.type)).rstrip("/")
    url = base + api.path.replace("{key}", quote(channel.key, safe=""))
    headers = {api.key_header: channel.key} if api.key_header else {"Authorization": f"Bearer {channel.key}"}
    return api.read(await _get_json(state, url, headers))


async def query_balance(state: AppState, channel: Channel) -> float:
    """The vendor's figure for the channel's key; BalanceError if unsupported or unreadable."""
    if channel.type in OPENAI_STYLE:
        return await _openai_balance(state, channel)
    api = BALANCE_APIS.get(channel.type)
    if api is None:
        raise BalanceError(f"Balance query is not supported for channel type {type_name(channel.type)}")
    return await _vendor_balance(state, channel, api)


async def update_balance(state: AppState, channel_id: int) -> float:
    """GET /api/channel/update_balance/:id: query the vendor, store balance and balance_updated_time."""
    engine = state.db.main
    async with engine.connect() as conn:
        row = (await conn.execute(select(channels).where(channels.c.id == channel_id))).mappings().first()
    if row is None:
        raise BalanceError(str(not_found(channel_id)))
    balance = await query_balance(state, Channel.from_row(row))
    async with engine.begin() as conn:
        await conn.execute(
            update(channels)
            .where(channels.c.id == channel_id)
            .values(balance=balance, balance_updated_time=now_s())
        )
    return balance


async def update_all_balances(state: AppState) -> None:
    """Refresh every enabled channel whose type has a balance API, POLLING_INTERVAL seconds apart.

    A channel found with nothing left is auto-disabled when AutomaticDisableChannelEnabled is on.
    """
    async with state.db.main.connect() as conn:
        rows = (
            await conn.execute(
                select(channels.c.id, channels.c.type).where(channels.c.status == CHANNEL_ENABLED)
            )
        ).all()
    ids = [int(r.id) for r in rows if supports_balance(int(r.type or 0))]
    for index, channel_id in enumerate(ids):
        if index and state.settings.polling_interval:
            await asyncio.sleep(state.settings.polling_interval)
        try:
            balance = await update_balance(state, channel_id)
        except BalanceError as exc:
            log.warning("balance of channel #%d not updated: %s", channel_id, exc)
            continue
        if balance <= 0 and state.options.get_bool("AutomaticDisableChannelEnabled"):
            await disable_channel(state, state.relay, channel_id, "Insufficient balance")
    log.info("channel balances updated: %d channels", len(ids))


def start_balance_refresh(state: AppState) -> bool:
    """Refresh all balances in the background; False if a refresh is already running."""
    return jobs_of(state).start(BALANCE_JOB, lambda: update_all_balances(state))
