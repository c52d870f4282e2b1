"""bcrypt password hashing, off the event loop (a hash costs tens of milliseconds by design)."""

from __future__ import annotations

import asyncio

import bcrypt

# One API hashes with Go's bcrypt.DefaultCost; its `$2a$` hashes verify here unchanged.
BCRYPT_COST = 10


def _hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()


def _verify(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hash, password)


async def verify_password(password: str, hashed: str) -> bool:
    if not hashed:
        return False
    return await asyncio.to_thread(_verify, password, hashed)
