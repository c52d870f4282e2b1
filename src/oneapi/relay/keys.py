"""Find the relay key in a request (SPEC §3.1 steps 1–3): header, scheme, prefixes, channel pin."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class PresentedKey:
    key: str
    pinned_channel: str | None  # the `-<id>` suffix, as given


def presented_key(headers: Mapping[str, str], prefix: str) -> PresentedKey:
    raw = headers.get("authorization") or headers.get("x-api-key") or headers.get("api-key") or ""
    return parse_key(raw, prefix)


@lru_cache(maxsize=4096)
def parse_key(raw: str, prefix: str) -> PresentedKey:
    """The key in a header value (cached: a client sends the same value with every request, and
    the rate limiter and the relay both read it)."""
    raw = raw.strip()
    if raw[:7].lower() == "bearer ":
        raw = raw[7:].strip()
    for p in (prefix, "sk-", "laisky-"):
        if p and raw.startswith(p):
            raw = raw[len(p) :]
    key, sep, suffix = raw.rpartition("-")
    if sep and key and suffix.isdigit():
        return PresentedKey(key, suffix)
    return PresentedKey(raw, None)


def masked(key: str) -> str:
    """Enough of a key to recognise it in an error, not enough to use it."""
    if len(key) <= 8:
        return "*" * len(key)
    return f"{key[:4]}...{key[-4:]}"
