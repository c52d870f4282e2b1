"""WeChat sign-in through One API's "WeChat server": a code shown by the official account → wechat id."""

from __future__ import annotations

import aiohttp

from oneapi.services.oauth import TIMEOUT, Identity
from oneapi.services.options import OptionStore
from oneapi.services.users import UserError

WECHAT_OFF = "The administrator has not enabled login and registration via WeChat"
WECHAT_TAKEN = "The WeChat account has been bound"
CODE_EXPIRED = "Verification code error or expired"
UNREACHABLE = "Unable to connect to the WeChat server, please try again later"


def wechat_enabled(options: OptionStore) -> bool:
    return options.get_bool("WeChatAuthEnabled")


async def wechat_id_of(options: OptionStore, code: str) -> str:
    """Ask the WeChat server who `code` belongs to: `{"success", "message", "data": wechat id}`."""
    url = f"{options.get('WeChatServerAddress').rstrip('/')}/api/wechat/user"
    headers = {"Authorization": options.get("WeChatServerToken")}
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.get(url, params={"code": code}, headers=headers) as resp,
        ):
            answer = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        raise UserError(UNREACHABLE) from None
    if not isinstance(answer, dict):
        raise UserError(UNREACHABLE)
    if not answer.get("success"):
        raise UserError(str(answer.get("message") or CODE_EXPIRED))
    wechat_id = answer.get("data")
    if not isinstance(wechat_id, str) or not wechat_id:
        raise UserError(CODE_EXPIRED)
    return wechat_id


async def wechat_identity(options: OptionStore, code: str) -> Identity:
    if not wechat_enabled(options):
        raise UserError(WECHAT_OFF)
    return Identity("wechat_id", await wechat_id_of(options, code), "", "WeChat User", "")
