"""Random identifiers in One API's formats: relay keys, access tokens, aff codes, redemption keys."""

from __future__ import annotations

import random
import secrets
import string
import time
import uuid

_ALNUM = string.ascii_letters + string.digits


def random_string(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def uuid_hex() -> str:
    """A hyphen-less UUID: One API's access tokens and redemption keys (32 chars)."""
    return uuid.uuid4().hex


def token_key() -> str:
    """A 48-char relay key: 16 random alphanumerics + 32 hex chars with even-index letters upper-cased."""
    hex_part = uuid.uuid4().hex
    mixed = "".join(c.upper() if i % 2 == 0 else c for i, c in enumerate(hex_part))
    return random_string(16) + mixed


def aff_code() -> str:
    return random_string(4)


def request_id() -> str:
    """`yyyyMMddHHmmss` + nanoseconds mod 1e9 + 8 random digits, as One API's X-Oneapi-Request-Id."""
    now_ns = time.time_ns()
    stamp = time.strftime("%Y%m%d%H%M%S", time.localtime(now_ns // 1_000_000_000))
    # Not a secret, so the cheap PRNG: `secrets` costs a syscall per request on the relay path.
    return f"{stamp}{now_ns % 1_000_000_000}{random.randrange(100_000_000):08d}"


def now_s() -> int:
    return int(time.time())


def now_ms() -> int:
    return time.time_ns() // 1_000_000
