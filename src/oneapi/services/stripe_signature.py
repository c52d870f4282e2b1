"""Stripe webhook signatures, checked without Stripe's SDK: only events Stripe signed are believed.

Stripe sends `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]` where each v1 is the
HMAC-SHA256 of "<t>.<raw body>" under the endpoint's signing secret (`whsec_…`, used as is). A
header whose time is further than the tolerance from ours is refused, so a captured delivery
cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac

DEFAULT_TOLERANCE = 300  # seconds, as Stripe's libraries


class SignatureError(ValueError):
    """The delivery is not signed by the configured secret (or not recently)."""


def parse_header(header: str) -> tuple[int, list[str]]:
    """(timestamp, v1 signatures) of a Stripe-Signature header; other schemes are ignored."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("the signature timestamp is not a number") from None
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("the signature header has no timestamp")
    if not signatures:
        raise SignatureError("the signature header has no v1 signature")
    return timestamp, signatures


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The hex v1 signature Stripe would send for `payload` at `timestamp`."""
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(payload: bytes, header: str, secret: str, now: float, tolerance: int = DEFAULT_TOLERANCE) -> None:
    """Raise SignatureError unless one v1 signature matches and the timestamp is recent."""
    if not header:
        raise SignatureError("no Stripe-Signature header")
    timestamp, signatures = parse_header(header)
    expected = sign(payload, secret, timestamp).encode()
    if not any(hmac.compare_digest(expected, candidate.encode()) for candidate in signatures):
        raise SignatureError("no signature matches the payload")
    if tolerance > 0 and abs(now - timestamp) > tolerance:
        raise SignatureError("the signature timestamp is outside the tolerance")
