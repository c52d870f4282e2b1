"""GitHub OAuth and OIDC code → identity; for every provider: log in, provision or bind that identity."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import users
from oneapi.services.options import OptionStore
from oneapi.services.roles import USER_ENABLED
from oneapi.services.signup import REGISTER_OFF
from oneapi.services.users import UserError, create_user, username_in_use
from oneapi.services.users_query import user_by

TIMEOUT = aiohttp.ClientTimeout(total=15)
GITHUB_OFF = "The administrator has not enabled login and registration via GitHub"
OIDC_OFF = "The administrator has not enabled login and registration via OIDC"
EXCHANGE_FAILED = "Unable to connect to the identity provider, please try again later"
NO_IDENTITY = "The identity provider returned no user, please try again"
BANNED = "User has been banned"
ALREADY_BOUND = "This account has already been bound to another user"


@dataclass(frozen=True)
class Identity:
    """Who the provider says the caller is: `column` (github_id, oidc_id, lark_id, wechat_id) = `subject`."""

    column: str
    subject: str
    username: str
    display_name: str
    email: str


async def exchange_code(
    token_url: str, form: dict[str, str], userinfo_url: str, *, as_json: bool = False
) -> dict[str, Any]:
    """Trade the code for an access token (form-encoded, or JSON with `as_json`), then read the user."""
    body: dict[str, Any] = {"json": form} if as_json else {"data": form}
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            headers = {"Accept": "application/json"}
            async with session.post(token_url, headers=headers, **body) as resp:
                token_body = await resp.json(content_type=None)
            access = token_body.get("access_token") if isinstance(token_body, dict) else None
            if not access:
                raise UserError(EXCHANGE_FAILED)
            auth = {"Authorization": f"Bearer {access}", "Accept": "application/json"}
            async with session.get(userinfo_url, headers=auth) as resp:
                info = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        raise UserError(EXCHANGE_FAILED) from None
    if not isinstance(info, dict):
        raise UserError(NO_IDENTITY)
    return info


async def github_identity(options: OptionStore, oauth_base: str, api_base: str, code: str) -> Identity:
    if not options.get_bool("GitHubOAuthEnabled"):
        raise UserError(GITHUB_OFF)
    form = {
        "client_id": options.get("GitHubClientId"),
        "client_secret": options.get("GitHubClientSecret"),
        "code": code,
    }
    info = await exchange_code(
        f"{oauth_base.rstrip('/')}/login/oauth/access_token", form, f"{api_base.rstrip('/')}/user"
    )
    login = str(info.get("login") or "")
    if not login:
        raise UserError(NO_IDENTITY)
    return Identity(
        "github_id", login, login, str(info.get("name") or "GitHub User"), str(info.get("email") or "")
    )


async def oidc_identity(options: OptionStore, code: str) -> Identity:
    if not options.get_bool("OidcEnabled"):
        raise UserError(OIDC_OFF)
    form = {
        "grant_type": "authorization_code",
        "client_id": options.get("OidcClientId"),
        "client_secret": options.get("OidcClientSecret"),
        "code": code,
        "redirect_uri": f"{options.get('ServerAddress').rstrip('/')}/oauth/oidc",
    }
    info = await exchange_code(options.get("OidcTokenEndpoint"), form, options.get("OidcUserinfoEndpoint"))
    subject = str(info.get("sub") or "")
    if not subject:
        raise UserError(NO_IDENTITY)
    username = str(info.get("preferred_username") or "")
    return Identity(
        "oidc_id", subject, username, str(info.get("name") or "OIDC User"), str(info.get("email") or "")
    )


async def _free_username(engine: AsyncEngine, wanted: str, prefix: str) -> str:
    async with engine.connect() as conn:
        if wanted and len(wanted) <= 30 and not await username_in_use(conn, wanted):
            return wanted
        while True:
            candidate = f"{prefix}_{secrets.token_hex(4)}"
            if not await username_in_use(conn, candidate):
                return candidate


async def login_or_provision(engine: AsyncEngine, options: OptionStore, who: Identity) -> RowMapping:
    """The enabled user holding this identity, or a new one when registration is open."""
    row = await user_by(engine, **{who.column: who.subject})
    if row is None:
        if not options.get_bool("RegisterEnabled"):
            raise UserError(REGISTER_OFF)
        username = await _free_username(engine, who.username, who.column.removesuffix("_id"))
        user_id = await create_user(
            engine,
            username=username,
            password=secrets.token_urlsafe(12),
            quota=max(0, options.get_int("QuotaForNewUser")),
            display_name=who.display_name[:20],
            email=who.email if len(who.email) <= 50 else "",
        )
        async with engine.begin() as conn:
            await conn.execute(update(users).where(users.c.id == user_id).values({who.column: who.subject}))
        row = await user_by(engine, id=user_id)
    if row is None or row["status"] != USER_ENABLED:
        raise UserError(BANNED)
    return row


async def bind_identity(
    engine: AsyncEngine, user_id: int, column: str, value: str, taken: str = ALREADY_BOUND
) -> None:
    """Attach an identity (github_id, …, email) to `user_id`; `taken` refuses one another user holds."""
    holder = await user_by(engine, **{column: value})
    if holder is not None and holder["id"] != user_id:
        raise UserError(taken)
    async with engine.begin() as conn:
        await conn.execute(update(users).where(users.c.id == user_id).values({column: value}))
