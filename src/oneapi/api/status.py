"""GET /api/status: what the console needs to know before anyone logs in (SPEC §1.3)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from oneapi import __version__
from oneapi.api.auth import app_state
from oneapi.api.errors import ok
from oneapi.api.pagination import page_of
from oneapi.db.tables import channels
from oneapi.services.payment_rules import stripe_settings

router = APIRouter()


@router.get("/api/status")
async def get_status(request: Request) -> dict[str, Any]:
    state = app_state(request)
    o = state.options
    stripe = stripe_settings(state.settings, o)
    return ok(
        {
            "version": __version__,
            "start_time": state.start_time,
            "email_verification": o.get_bool("EmailVerificationEnabled"),
            "github_oauth": o.get_bool("GitHubOAuthEnabled"),
            "github_client_id": o.get("GitHubClientId"),
            "lark_client_id": o.get("LarkClientId"),
            "system_name": o.get("SystemName"),
            "logo": o.get("Logo"),
            "footer_html": o.get("Footer"),
            "wechat_qrcode": o.get("WeChatAccountQRCodeImageURL"),
            "wechat_login": o.get_bool("WeChatAuthEnabled"),
            "server_address": o.get("ServerAddress"),
            "turnstile_check": o.get_bool("TurnstileCheckEnabled"),
            "turnstile_site_key": o.get("TurnstileSiteKey"),
            "top_up_link": o.get("TopUpLink"),
            "chat_link": o.get("ChatLink"),
            "quota_per_unit": o.get_float("QuotaPerUnit"),
            "display_in_currency": o.get_bool("DisplayInCurrencyEnabled"),
            "oidc": o.get_bool("OidcEnabled"),
            "oidc_client_id": o.get("OidcClientId"),
            "oidc_well_known": o.get("OidcWellKnown"),
            "oidc_authorization_endpoint": o.get("OidcAuthorizationEndpoint"),
            "oidc_token_endpoint": o.get("OidcTokenEndpoint"),
            "oidc_userinfo_endpoint": o.get("OidcUserinfoEndpoint"),
            "password_login": o.get_bool("PasswordLoginEnabled"),
            "password_register": o.get_bool("PasswordRegisterEnabled"),
            "register_enabled": o.get_bool("RegisterEnabled"),
            "stripe_enabled": stripe.ready,
            "min_topup_usd": stripe.min_topup_usd,
        }
    )


@router.get("/api/status/channel")
async def channel_health(request: Request) -> dict[str, Any]:
    """Public, paginated health of the channels: no keys, addresses or configuration."""
    state = app_state(request)
    page = page_of(request, state.settings.max_items_per_page)
    columns = (
        channels.c.id,
        channels.c.name,
        channels.c.type,
        channels.c.status,
        channels.c.response_time,
        channels.c.test_time,
        channels.c.priority,
    )
    async with state.db.main.connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(channels))).scalar_one()
        rows = (
            (
                await conn.execute(
                    select(*columns).order_by(channels.c.id).offset(page.offset).limit(page.limit)
                )
            )
            .mappings()
            .all()
        )
    data = [
        {**row, "response_time": row["response_time"] or 0, "test_time": row["test_time"] or 0}
        for row in rows
    ]
    return ok(data, total=int(total))
