"""Small pure helpers for building upstream URLs from a base URL and an inbound `/v1/...` path."""

from __future__ import annotations

import re

_VERSION_SUFFIX = re.compile(r"/v\d+[a-z0-9]*$", re.IGNORECASE)
CLOUDFLARE_GATEWAY = "https://gateway.ai.cloudflare.com"


def split_query(path: str) -> tuple[str, str]:
    """`/v1/x?a=1` → (`/v1/x`, `a=1`); the query is "" when there is none."""
    bare, _, query = path.partition("?")
    return bare, query


def replace_v1(path: str, prefix: str) -> str:
    """Swap a leading `/v1` segment for `prefix` ("" strips it); other paths are returned as given."""
    if path == "/v1" or path.startswith(("/v1/", "/v1?")):
        return prefix + path[3:]
    return path


def has_version_suffix(base: str) -> bool:
    """True when a base URL already ends in an API version segment (`/v1`, `/v4`, `/v1beta`, …)."""
    return _VERSION_SUFFIX.search(base.rstrip("/")) is not None


def is_cloudflare_gateway(base: str) -> bool:
    """Cloudflare AI Gateway bases carry their own version: `…/{account}/{gateway}/{provider}`."""
    return base.startswith(CLOUDFLARE_GATEWAY)
