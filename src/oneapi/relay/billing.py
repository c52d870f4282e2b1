"""Quota for one relay request (SPEC §5.5–5.6): reserve an estimate, then settle or refund.

All movements go through the QuotaLedger, synchronously, so the check and the debit of a
reservation cannot interleave with another request's in the same process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from oneapi.relay.auth import Identity
from oneapi.relay.errors import RelayError
from oneapi.services.keys import now_ms
from oneapi.services.ledger import QuotaLedger
from oneapi.services.pricing import Price, Usage
from oneapi.services.roles import LOG_CONSUME

TRUST_FACTOR = 100


@dataclass
class Reservation:
    user_id: int
    token_id: int
    limited: bool
    pre: int


def reserve(ledger: QuotaLedger, identity: Identity, estimate: int) -> Reservation:
    """Check both balances against `estimate` and hold it (or nothing, for a well-funded key)."""
    user_id, token = identity.user.id, identity.token
    user_quota = ledger.user_balance.get(user_id, 0)
    if user_quota - estimate < 0:
        raise RelayError(403, "user quota is not enough", "insufficient_user_quota")
    token_remain = ledger.token_balance.get(token.id, 0)
    pre = estimate
    if user_quota > TRUST_FACTOR * pre and (token.unlimited or token_remain > TRUST_FACTOR * pre):
        pre = 0
    if pre > 0 and not token.unlimited and token_remain < pre:
        raise RelayError(
            403,
            f"insufficient token quota: remaining {token_remain}, need {pre}",
            "pre_consume_token_quota_failed",
        )
    ledger.move(user_id, token.id, pre, limited=not token.unlimited, now=int(time.time()))
    return Reservation(user_id=user_id, token_id=token.id, limited=not token.unlimited, pre=pre)


def refund(ledger: QuotaLedger, reservation: Reservation) -> None:
    ledger.move(
        reservation.user_id,
        reservation.token_id,
        -reservation.pre,
        limited=reservation.limited,
        now=int(time.time()),
    )
    reservation.pre = 0


@dataclass(frozen=True)
class Settlement:
    """What a finished request consumed, for the log row."""

    quota: int
    usage: Usage
    price: Price
    group_ratio: float
    model: str
    origin_model: str
    channel_id: int
    is_stream: bool
    elapsed_ms: int
    request_id: str
    system_prompt_reset: bool = False


def settle(
    ledger: QuotaLedger, reservation: Reservation, identity: Identity, s: Settlement, log_consume: bool
) -> None:
    """Charge the difference between real cost and reservation; queue the log and cost rows."""
    ledger.move(
        reservation.user_id,
        reservation.token_id,
        s.quota - reservation.pre,
        limited=reservation.limited,
        now=int(time.time()),
    )
    reservation.pre = s.quota
    ledger.record_use(reservation.user_id, s.channel_id, s.quota)
    now = int(time.time())
    if log_consume:
        ledger.add_log(consume_log_row(identity, s, now))
    stamp = now_ms()
    ledger.set_cost(
        s.request_id,
        {
            "request_id": s.request_id,
            "user_id": reservation.user_id,
            "quota": s.quota,
            "created_time": now,
            "created_at": stamp,
            "updated_at": stamp,
        },
    )


def consume_log_row(identity: Identity, s: Settlement, now: int) -> dict[str, Any]:
    u, p = s.usage, s.price
    content = (
        f"model rate {p.model_ratio:.2f}, group rate {s.group_ratio:.2f}, "
        f"completion rate {p.completion_ratio:.2f}, cached_prompt {u.cached_tokens}, "
        f"cache_write_5m {u.cache_write_5m_tokens}, cache_write_1h {u.cache_write_1h_tokens}"
    )
    return {
        "user_id": identity.user.id,
        "created_at": now,
        "type": LOG_CONSUME,
        "content": content,
        "username": identity.user.username,
        "token_name": identity.token.name,
        "token_id": identity.token.id,
        "model_name": s.model,
        "origin_model_name": s.origin_model,
        "quota": s.quota,
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "cached_prompt_tokens": u.cached_tokens,
        "channel_id": s.channel_id,
        "request_id": s.request_id,
        "elapsed_time": s.elapsed_ms,
        "is_stream": s.is_stream,
        "system_prompt_reset": s.system_prompt_reset,
        "trace_id": "",
        "metadata": None,
    }
