"""TOTP two-factor sign-in (SPEC §3.4): enrol, confirm, check at login, disable, admin reset.

A user has TOTP when `users.totp_secret` is non-empty, as in One API's fork. A new secret waits
in the TOTP store until the user proves their authenticator with a code. Every code check is
limited to one attempt per second per user (rate-limit key `rateLimit:TOTP:<id>`, failing open
when Redis errs, as One API does) and a code's step cannot be used twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import insert, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.cache.ratelimit import RateLimiter
from oneapi.cache.totp_store import TotpStore
from oneapi.db.tables import logs, users
from oneapi.services import totp
from oneapi.services.keys import now_ms, now_s
from oneapi.services.roles import LOG_MANAGE
from oneapi.services.user_admin import Actor
from oneapi.services.users import existing_user

log = logging.getLogger(__name__)

CODE_REQUIRED = "TOTP code is required"
INVALID_CODE = "Invalid TOTP code"
NOT_ENABLED = "TOTP is not enabled for this user"
ALREADY_ENABLED = "TOTP is already enabled for this user"
NO_SETUP = "No TOTP setup session found. Please start setup again."
THROTTLED = "Too many TOTP verification attempts. Please wait before trying again."
SAME_LEVEL = "No permission to modify user with the same or higher permission level"
# A used step is remembered while any code of it could still be accepted.
USED_STEP_SECONDS = totp.STEP_SECONDS * (2 * totp.DRIFT_STEPS + 1)


class TotpError(ValueError):
    """A refused TOTP operation; the message is the one One API gives."""


class TotpThrottled(TotpError):
    """More than one code attempt per second for this user (HTTP 429)."""


def has_totp(row: Any) -> bool:
    return bool(row["totp_secret"])


@dataclass
class TwoFactor:
    """The TOTP rules over the users table, the TOTP store and the rate limiter.

    `limiter` None means rate limiting is off (RATE_LIMIT_DISABLED)."""

    main: AsyncEngine
    logs: AsyncEngine
    store: TotpStore
    limiter: RateLimiter | None
    clock: Callable[[], float] = field(default=time.time)

    async def enabled(self, user_id: int) -> bool:
        return has_totp(await existing_user(self.main, user_id))

    async def begin_setup(self, user_id: int, issuer: str) -> dict[str, str]:
        """A new secret, kept pending for this user, and its otpauth URI for the QR code."""
        row = await existing_user(self.main, user_id)
        if has_totp(row):
            raise TotpError(ALREADY_ENABLED)
        secret = totp.new_secret()
        await self.store.put_pending(user_id, secret)
        return {"secret": secret, "qr_code": totp.otpauth_uri(secret, row["username"] or "", issuer)}

    async def confirm(self, user_id: int, code: str) -> None:
        """Activate the pending secret once `code` proves the authenticator holds it."""
        if not code:
            raise TotpError(CODE_REQUIRED)
        await self._throttle(user_id)
        if has_totp(await existing_user(self.main, user_id)):
            raise TotpError(ALREADY_ENABLED)
        secret = await self.store.pending(user_id)
        if secret is None:
            raise TotpError(NO_SETUP)
        await self._verify(user_id, secret, code)
        await self._set_secret(user_id, secret)
        await self.store.drop_pending(user_id)

    async def disable(self, user_id: int, code: str) -> None:
        """The user turns TOTP off, proving it with a current code."""
        await self._throttle(user_id)
        row = await existing_user(self.main, user_id)
        if not has_totp(row):
            raise TotpError(NOT_ENABLED)
        await self._verify(user_id, row["totp_secret"], code)
        await self._set_secret(user_id, "")

    async def admin_reset(self, actor: Actor, user_id: int) -> None:
        """An administrator turns off the TOTP of a user of lower role (root: of anyone)."""
        row = await existing_user(self.main, user_id)
        if not actor.outranks(row["role"] or 0):
            raise TotpError(SAME_LEVEL)
        if not has_totp(row):
            raise TotpError(NOT_ENABLED)
        await self._set_secret(user_id, "")
        content = f"admin disabled TOTP of the user, admin_id={actor.id}"
        entry = {"user_id": user_id, "username": row["username"], "created_at": now_s(), "type": LOG_MANAGE}
        async with self.logs.begin() as conn:
            await conn.execute(insert(logs).values(**entry, content=content))

    async def check_login(self, row: Any, code: str) -> None:
        """The login step for a user with TOTP: `code` must be a fresh valid code."""
        await self._throttle(row["id"])
        await self._verify(row["id"], row["totp_secret"], code)

    async def _throttle(self, user_id: int) -> None:
        if self.limiter is None:
            return
        try:
            wait = await self.limiter.hit(f"rateLimit:TOTP:{user_id}", 1, 1)
        except (RedisError, OSError) as exc:
            log.warning("TOTP rate limit unavailable, admitting: %s", exc)
            return
        if wait > 0:
            raise TotpThrottled(THROTTLED)

    async def _verify(self, user_id: int, secret: str, code: str) -> None:
        step = totp.matching_step(secret, code, self.clock())
        if step is None or not await self.store.claim_step(user_id, step, USED_STEP_SECONDS):
            raise TotpError(INVALID_CODE)

    async def _set_secret(self, user_id: int, secret: str) -> None:
        stmt = update(users).where(users.c.id == user_id)
        if secret:  # activating: only over an empty secret, so two confirmations cannot race
            stmt = stmt.where(or_(users.c.totp_secret.is_(None), users.c.totp_secret == ""))
        async with self.main.begin() as conn:
            result = await conn.execute(stmt.values(totp_secret=secret, updated_at=now_ms()))
        if secret and result.rowcount == 0:
            raise TotpError(ALREADY_ENABLED)
