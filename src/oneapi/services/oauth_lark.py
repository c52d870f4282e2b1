"""Lark (Feishu) sign-in: code → user access token (JSON request) → open_id, name and email."""

from __future__ import annotations

from typing import Any

from oneapi.services.oauth import NO_IDENTITY, Identity, exchange_code
from oneapi.services.options import OptionStore
from oneapi.services.users import UserError

LARK_OFF = "The administrator has not enabled login and registration via Lark"
LARK_TAKEN = "This Lark account has already been bound"
TOKEN_PATH = "/open-apis/authen/v2/oauth/token"
USERINFO_PATH = "/open-apis/authen/v1/user_info"


def lark_enabled(options: OptionStore) -> bool:
    """One API has no switch for Lark: it is offered when an app id is configured."""
    return bool(options.get("LarkClientId"))


def _profile(info: dict[str, Any]) -> dict[str, Any]:
    """Lark's user_info nests the profile in `data`; the older passport endpoint answers it flat."""
    data = info.get("data")
    return data if isinstance(data, dict) else info


async def lark_identity(options: OptionStore, base_url: str, code: str) -> Identity:
    if not lark_enabled(options):
        raise UserError(LARK_OFF)
    form = {
        "grant_type": "authorization_code",
        "client_id": options.get("LarkClientId"),
        "client_secret": options.get("LarkClientSecret"),
        "code": code,
        "redirect_uri": f"{options.get('ServerAddress').rstrip('/')}/oauth/lark",
    }
    base = base_url.rstrip("/")
    profile = _profile(await exchange_code(base + TOKEN_PATH, form, base + USERINFO_PATH, as_json=True))
    open_id = str(profile.get("open_id") or "")
    if not open_id:
        raise UserError(NO_IDENTITY)
    email = str(profile.get("email") or "")
    local_part = email.split("@", 1)[0] if "@" in email else ""
    return Identity("lark_id", open_id, local_part, str(profile.get("name") or "Lark User"), email)
