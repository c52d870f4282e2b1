"""Relay-key authentication (SPEC §3.1) in One API's order: token, expiry, quota, subnet, user.

Everything comes from the account cache and the ledger; the database is read only on a cache miss
and written only when a token is found expired or exhausted.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass

from oneapi.relay.errors import RelayError
from oneapi.relay.keys import masked, presented_key
from oneapi.services.accounts import AccountCache, TokenInfo, UserInfo
from oneapi.services.ledger import QuotaLedger
from oneapi.services.roles import (
    ROLE_ADMIN,
    TOKEN_ENABLED,
    TOKEN_EXHAUSTED,
    TOKEN_EXPIRED,
    USER_ENABLED,
)


@dataclass(frozen=True)
class Identity:
    token: TokenInfo
    user: UserInfo
    key: str
    pinned_channel: int | None


def _label(token: TokenInfo) -> str:
    return f"API Key {token.name} (#{token.id})"


async def authenticate(
    headers: Mapping[str, str],
    client_ip: str,
    accounts: AccountCache,
    ledger: QuotaLedger,
    key_prefix: str,
    *,
    usable_only: bool = True,
) -> Identity:
    """The key's token and user. With `usable_only=False` a disabled, expired or exhausted key still
    identifies its holder (balance and settlement routes judge the token's state themselves)."""
    presented = presented_key(headers, key_prefix)
    if not presented.key:
        raise RelayError(401, "No token provided", "invalid_api_key")
    token = await accounts.token(presented.key)
    if token is None:
        raise RelayError(401, f"token not found for key: {masked(presented.key)}", "invalid_api_key")
    if usable_only:
        await _check_usable(token, presented.key, accounts, ledger)
    if token.networks and not _ip_allowed(client_ip, token):
        raise RelayError(
            403,
            f"This API key can only be used in the specified subnet: {token.subnet}, current IP: {client_ip}",
            "ip_not_allowed",
        )
    user = await accounts.user(token.user_id)
    if user is None or user.status != USER_ENABLED:
        raise RelayError(403, "User has been banned", "user_banned")
    pinned = None
    if presented.pinned_channel is not None:
        if user.role < ROLE_ADMIN:
            raise RelayError(
                403, "Ordinary users do not support specifying channels", "channel_pin_forbidden"
            )
        pinned = int(presented.pinned_channel)
    return Identity(token=token, user=user, key=presented.key, pinned_channel=pinned)


async def _check_usable(token: TokenInfo, key: str, accounts: AccountCache, ledger: QuotaLedger) -> None:
    """Refuse a key that is not enabled, has expired or has no quota left (SPEC §3.1 step 4)."""
    if token.status == TOKEN_EXHAUSTED:
        raise RelayError(401, f"{_label(token)} quota has been exhausted", "insufficient_token_quota")
    if token.status == TOKEN_EXPIRED:
        raise RelayError(401, f"{_label(token)} has expired", "token_expired")
    if token.status != TOKEN_ENABLED:
        raise RelayError(
            401, f"{_label(token)} status is not available (status: {token.status})", "token_not_available"
        )
    if token.expired_time != -1 and token.expired_time < time.time():
        await accounts.set_token_status(token, key, TOKEN_EXPIRED)
        raise RelayError(
            401, f"{_label(token)} has expired at timestamp {token.expired_time}", "token_expired"
        )
    remain = ledger.token_balance.get(token.id, 0)
    if not token.unlimited and remain <= 0:
        await accounts.set_token_status(token, key, TOKEN_EXHAUSTED)
        raise RelayError(
            401, f"{_label(token)} quota has been used up (remaining: {remain})", "insufficient_token_quota"
        )


def check_model_allowed(identity: Identity, model: str) -> None:
    allowed = identity.token.models
    if allowed is not None and model and model not in allowed:
        raise RelayError(
            403, f"This API key does not have permission to use the model: {model}", "model_not_allowed"
        )


def _ip_allowed(client_ip: str, token: TokenInfo) -> bool:
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in network for network in token.networks)
