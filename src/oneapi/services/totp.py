"""RFC 6238 time-based one-time passwords with the standard library (HMAC-SHA1, 30 s, 6 digits).

These are the parameters every authenticator app assumes, and those One API's fork uses: a
secret enrolled there keeps working here. Secrets are base32 text (RFC 4648, padding optional).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # a code of the step before or after the current one is accepted too
SECRET_BYTES = 20  # 160 bits, the HMAC-SHA1 key length RFC 4226 recommends


def new_secret() -> str:
    """A fresh random secret as unpadded upper-case base32 (32 characters)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def secret_key(secret: str) -> bytes:
    """The key bytes of a base32 secret; spaces, case and missing padding are tolerated.

    Raises ValueError for text that is not base32."""
    text = secret.replace(" ", "").upper()
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except binascii.Error as exc:
        raise ValueError("TOTP secret is not base32") from exc


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226: HMAC-SHA1 of the 8-byte counter, dynamically truncated to `digits` digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def step_at(unix_time: float) -> int:
    """The RFC 6238 time counter T of a Unix time (T0 = 0)."""
    return int(unix_time // STEP_SECONDS)


def code_at(secret: str, unix_time: float) -> str:
    """The code an authenticator shows for `secret` at `unix_time`."""
    return hotp(secret_key(secret), step_at(unix_time))


def matching_step(secret: str, code: str, unix_time: float) -> int | None:
    """The time step (within ±DRIFT_STEPS of now) whose code is `code`, or None.

    Every candidate is compared in constant time; an unreadable secret matches nothing."""
    code = code.strip()
    if len(code) != DIGITS or not code.isdigit():
        return None
    try:
        key = secret_key(secret)
    except ValueError:
        return None
    now = step_at(unix_time)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(hotp(key, step), code) and found is None:
            found = step
    return found


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """The `otpauth://totp/…` URI authenticator apps read from a QR code (Key Uri Format)."""
    label = quote(f"{issuer}:{account}" if issuer else account, safe=":@")
    query = {
        "secret": secret,
        "issuer": issuer,
        "algorithm": "SHA1",
        "digits": DIGITS,
        "period": STEP_SECONDS,
    }
    if not issuer:
        del query["issuer"]
    return f"otpauth://totp/{label}?{urlencode(query, quote_via=quote)}"
