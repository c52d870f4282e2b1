"""Cloudflare Turnstile: routes marked "ts" need `?turnstile=` verified at siteverify when enabled."""

from __future__ import annotations

import aiohttp

TOKEN_EMPTY = "Turnstile token is empty"
FAILED = "Turnstile verification failed"
TIMEOUT = aiohttp.ClientTimeout(total=10)


class TurnstileError(ValueError):
    """The request's Turnstile token is missing or not accepted."""


async def verify_turnstile(url: str, secret: str, token: str, remote_ip: str) -> None:
    """Ask siteverify (form-encoded, as Cloudflare expects); raise TurnstileError unless it succeeds."""
    if not token:
        raise TurnstileError(TOKEN_EMPTY)
    form = {"secret": secret, "response": token, "remoteip": remote_ip}
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.post(url, data=form) as resp:
            body = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        raise TurnstileError(FAILED) from None
    if not isinstance(body, dict) or body.get("success") is not True:
        raise TurnstileError(FAILED)
