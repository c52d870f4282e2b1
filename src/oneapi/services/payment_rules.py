"""The rules of a Stripe top-up (the fork's): when Stripe is usable, what amount is accepted, what
quota it buys, and the identifiers that make a retried checkout the same order.

Secrets come from the options StripeSecretKey / StripeWebhookSecret when stored, else from
STRIPE_SECRET_KEY / STRIPE_WEBHOOK_SECRET. Checkout return URLs are built on a trusted origin
(STRIPE_PUBLIC_BASE_URL, else the ServerAddress option), never on the request's Host header.
"""

from __future__ import annotations

import ipaddress
import math
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from oneapi.config import Settings
from oneapi.services.option_defaults import FLOAT_OPTIONS
from oneapi.services.options import OptionStore

PROVIDER = "stripe"
CURRENCY = "usd"
MAX_TOPUP_USD = 100_000
MAX_REQUEST_ID = 64
PENDING_PREFIX = "pending:stripe:"

STATUS_PENDING = "pending"
STATUS_PAID = "paid"
STATUS_FAILED = "failed"
STATUS_CANCELED = "canceled"
STATUS_MANUAL_REVIEW = "manual_review"
# A paid event may follow a failed or expired one (Stripe does not order deliveries).
CLAIMABLE = (STATUS_PENDING, STATUS_FAILED, STATUS_CANCELED)

NOT_POSITIVE = "amount must be a positive finite number"
TOO_PRECISE = "amount must have at most two decimal places"
TOO_LARGE = "amount too large"
BAD_REQUEST_ID = "request_id must contain only letters, digits, '-' or '_' and be at most 64 characters"


class AmountError(ValueError):
    """A top-up amount Stripe checkout does not accept; the message is shown to the user."""


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str
    webhook_secret: str
    public_base_url: str | None  # None: no usable origin for the return URLs
    api_base_url: str
    min_topup_usd: int
    quota_per_unit: float

    @property
    def ready(self) -> bool:
        """Checkout and its settlement are both possible."""
        return bool(self.secret_key and self.webhook_secret and self.public_base_url)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_origin(raw: str, secret_key: str) -> str | None:
    """`raw` as a bare http(s) origin, or None. HTTPS is required, except on a loopback host
    with a test key (sk_test_…), for local development."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
        host = parts.hostname or ""
        has_credentials = parts.username is not None or parts.password is not None
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host or has_credentials:
        return None
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        return None
    if scheme != "https" and not (secret_key.startswith("sk_test_") and _is_loopback(host)):
        return None
    return f"{scheme}://{parts.netloc}"


def min_topup_usd(settings: Settings, options: OptionStore) -> int:
    """The least accepted top-up in whole dollars, at least 1: the MinTopUpUSD option when an
    operator changed it, else MIN_TOPUP_USD."""
    value = options.get_float("MinTopUpUSD")
    if value == FLOAT_OPTIONS["MinTopUpUSD"]:
        value = settings.min_topup_usd
    if not math.isfinite(value):
        return 1
    return max(1, math.ceil(value))


def stripe_settings(settings: Settings, options: OptionStore) -> StripeSettings:
    secret_key = options.get("StripeSecretKey").strip() or settings.stripe_secret_key
    webhook_secret = options.get("StripeWebhookSecret").strip() or settings.stripe_webhook_secret
    base = settings.stripe_public_base_url or options.get("ServerAddress")
    return StripeSettings(
        secret_key=secret_key,
        webhook_secret=webhook_secret,
        public_base_url=public_origin(base, secret_key),
        api_base_url=settings.stripe_api_base_url,
        min_topup_usd=min_topup_usd(settings, options),
        quota_per_unit=options.get_float("QuotaPerUnit"),
    )


def amount_cents(amount_usd: float, min_usd: int) -> int:
    """The amount in cents; AmountError when not a positive sum of whole cents within the limits."""
    if not math.isfinite(amount_usd) or amount_usd <= 0:
        raise AmountError(NOT_POSITIVE)
    scaled = amount_usd * 100
    cents = round(scaled)
    if abs(scaled - cents) > 1e-7:
        raise AmountError(TOO_PRECISE)
    if cents > MAX_TOPUP_USD * 100:
        raise AmountError(TOO_LARGE)
    min_usd = max(1, min_usd)
    if cents < min_usd * 100:
        raise AmountError(f"minimum top-up amount is ${min_usd}")
    return int(cents)


def quota_for(cents: int, quota_per_unit: float) -> int:
    """Quota bought: dollars × QuotaPerUnit, rounded down (the fork's integer arithmetic)."""
    return cents * int(quota_per_unit) // 100


def new_request_id() -> str:
    return secrets.token_hex(16)


def valid_request_id(request_id: str) -> bool:
    return 0 < len(request_id) <= MAX_REQUEST_ID and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in request_id
    )


def idempotency_key(user_id: int, request_id: str) -> str:
    """The Stripe Idempotency-Key of a user's checkout attempt: a retry gets the same session."""
    return f"one-api:stripe:checkout:v1:{user_id}:{request_id}"


def pending_session_id(user_id: int, request_id: str) -> str:
    """The unique placeholder an order holds until Stripe names its session."""
    return f"{PENDING_PREFIX}{user_id}:{request_id}"
