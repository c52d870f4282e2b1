"""Emailed codes (sign-up verification, password reset): expiring, single-use, in memory or Redis."""

from __future__ import annotations

import secrets
import string
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

PURPOSE_VERIFY = "v"
PURPOSE_RESET = "r"
CODE_TTL_SECONDS = 15 * 60
_ALPHABET = string.ascii_letters + string.digits


def new_code(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


class VerificationCodes:
    """One live code per (purpose, email); `check` consumes it, so a code works exactly once."""

    def __init__(self, redis: Redis | None = None, ttl: float = CODE_TTL_SECONDS) -> None:
        self._redis = redis
        self.ttl = ttl
        self._codes: dict[tuple[str, str], tuple[str, float]] = {}

    @staticmethod
    def _key(purpose: str, email: str) -> str:
        return f"oneapi:code:{purpose}:{email.lower()}"

    async def issue(self, purpose: str, email: str, length: int) -> str:
        code = new_code(length)
        if self._redis is not None:
            await self._redis.set(self._key(purpose, email), code, ex=max(1, int(self.ttl)))
        else:
            self._drop_expired()
            self._codes[(purpose, email.lower())] = (code, time.monotonic() + self.ttl)
        return code

    async def check(self, purpose: str, email: str, code: str) -> bool:
        """True when `code` is the live code for `email`; the code is spent either way it matches."""
        if not code or not email:
            return False
        if self._redis is not None:
            key = self._key(purpose, email)
            stored = await self._redis.get(key)
            if stored is None:
                return False
            value = stored.decode() if isinstance(stored, bytes) else str(stored)
            if not secrets.compare_digest(value, code):
                return False
            return bool(await self._redis.delete(key))
        self._drop_expired()
        entry = self._codes.get((purpose, email.lower()))
        if entry is None or not secrets.compare_digest(entry[0], code):
            return False
        del self._codes[(purpose, email.lower())]
        return True

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, until) in self._codes.items() if until <= now]:
            del self._codes[key]
