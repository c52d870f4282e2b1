"""Payment orders and processed Stripe events in the database: credit a paid checkout once.

Two guards make a settlement happen once whatever Stripe redelivers, on any backend and node:
the event id is inserted first, in the same transaction as the settlement (a second delivery of
the event waits on, then collides with, that key), and the order moves to `paid` by a
conditional UPDATE whose row count decides who credits (another event for the same session
finds it no longer claimable). A transaction that fails rolls back its event row, so Stripe's
retry can settle later.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from oneapi.db.tables import payment_orders, stripe_webhook_events, users
from oneapi.services.keys import now_ms
from oneapi.services.payment_rules import (
    CLAIMABLE,
    CURRENCY,
    PROVIDER,
    STATUS_MANUAL_REVIEW,
    STATUS_PAID,
    STATUS_PENDING,
)

LIST_LIMIT = 20


class OrderNotFound(LookupError):
    """A Stripe session that no local order is bound to."""


class DuplicateEvent(Exception):
    """The Stripe event was already processed."""


@dataclass(frozen=True)
class Settlement:
    credited: bool  # this call moved the order to paid and added its quota
    order: dict[str, Any]


def order_dto(row: RowMapping) -> dict[str, Any]:
    """An order as the fork returns it (times in Unix ms)."""
    return {
        "id": row["id"],
        "user_id": row["user_id"] or 0,
        "provider": row["provider"] or "",
        "request_id": row["request_id"] or "",
        "session_id": row["session_id"] or "",
        "amount_cents": row["amount_cents"] or 0,
        "currency": row["currency"] or "",
        "quota": row["quota"] or 0,
        "status": row["status"] or "",
        "created_at": row["created_at"] or 0,
        "updated_at": row["updated_at"] or 0,
        "paid_at": row["paid_at"] or 0,
    }


# checkout --------------------------------------------------------------------------------------
async def create_order(
    engine: AsyncEngine, user_id: int, request_id: str, session_id: str, cents: int, quota: int
) -> dict[str, Any] | None:
    """Insert a pending order; None when the user already has one with this request id."""
    now = now_ms()
    row = {
        "user_id": user_id,
        "provider": PROVIDER,
        "request_id": request_id,
        "session_id": session_id,
        "amount_cents": cents,
        "currency": CURRENCY,
        "quota": quota,
        "status": STATUS_PENDING,
        "created_at": now,
        "updated_at": now,
        "paid_at": 0,
    }
    try:
        async with engine.begin() as conn:
            result = await conn.execute(insert(payment_orders).values(**row))
    except IntegrityError:
        return None
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database did not return the new order's id")
    return {"id": int(key[0]), **row}


async def order_by_request(engine: AsyncEngine, user_id: int, request_id: str) -> dict[str, Any] | None:
    stmt = select(payment_orders).where(
        payment_orders.c.user_id == user_id, payment_orders.c.request_id == request_id
    )
    async with engine.connect() as conn:
        row = (await conn.execute(stmt)).mappings().first()
    return order_dto(row) if row is not None else None


def reusable(order: dict[str, Any], cents: int, quota: int) -> bool:
    """A retried checkout may reuse an order only if it asks for the very same pending top-up."""
    return (
        order["provider"] == PROVIDER
        and order["amount_cents"] == cents
        and order["currency"].lower() == CURRENCY
        and order["quota"] == quota
        and order["status"] == STATUS_PENDING
    )


async def bind_session(engine: AsyncEngine, order_id: int, session_id: str) -> bool:
    """Give a pending order its Stripe session id; True when it holds that id afterwards."""
    async with engine.begin() as conn:
        stmt = (
            update(payment_orders)
            .where(
                payment_orders.c.id == order_id,
                payment_orders.c.status == STATUS_PENDING,
                payment_orders.c.session_id != session_id,
            )
            .values(session_id=session_id, updated_at=now_ms())
        )
        await conn.execute(stmt)
        found = await conn.scalar(select(payment_orders.c.session_id).where(payment_orders.c.id == order_id))
    return found == session_id


async def user_email(engine: AsyncEngine, user_id: int) -> str:
    async with engine.connect() as conn:
        email = await conn.scalar(select(users.c.email).where(users.c.id == user_id))
    return (email or "").strip()


async def list_orders(engine: AsyncEngine, user_id: int, limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    stmt = (
        select(payment_orders)
        .where(payment_orders.c.user_id == user_id)
        .order_by(payment_orders.c.id.desc())
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
    return [order_dto(r) for r in rows]


async def user_order(engine: AsyncEngine, user_id: int, session_id: str) -> dict[str, Any] | None:
    stmt = select(payment_orders).where(
        payment_orders.c.session_id == session_id, payment_orders.c.user_id == user_id
    )
    async with engine.connect() as conn:
        row = (await conn.execute(stmt)).mappings().first()
    return order_dto(row) if row is not None else None


# webhook ---------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def event_transaction(
    engine: AsyncEngine, event_id: str, event_type: str
) -> AsyncIterator[AsyncConnection]:
    """A transaction that first records `event_id` (DuplicateEvent if already there); the work
    done in it commits with the record or rolls back with it. No id: nothing is recorded."""
    async with engine.begin() as conn:
        if event_id:
            row = {"event_id": event_id, "event_type": event_type[:64], "created_at": now_ms()}
            try:
                await conn.execute(insert(stripe_webhook_events).values(**row))
            except IntegrityError:
                raise DuplicateEvent(event_id) from None
        yield conn


def _locked_order(session_id: str) -> Any:
    return select(payment_orders).where(payment_orders.c.session_id == session_id).with_for_update()


async def settle_paid(conn: AsyncConnection, session_id: str, amount_total: int, currency: str) -> Settlement:
    """Mark the session's order paid and credit its quota to its user, unless already settled.

    An amount or currency other than the order's, or a user that no longer exists, puts the order
    in manual_review instead (nothing is credited). OrderNotFound for an unknown session.
    """
    row = (await conn.execute(_locked_order(session_id))).mappings().first()
    if row is None:
        raise OrderNotFound(session_id)
    order = order_dto(row)
    if order["status"] in (STATUS_PAID, STATUS_MANUAL_REVIEW):
        return Settlement(False, order)
    now = now_ms()
    mismatch = (amount_total > 0 and amount_total != order["amount_cents"]) or (
        currency != "" and currency.lower() != order["currency"].lower()
    )
    target = STATUS_MANUAL_REVIEW if mismatch or order["quota"] < 0 else STATUS_PAID
    claim = (
        update(payment_orders)
        .where(payment_orders.c.id == order["id"], payment_orders.c.status.in_(CLAIMABLE))
        .values(status=target, paid_at=now, updated_at=now)
    )
    if (await conn.execute(claim)).rowcount != 1:
        latest = (await conn.execute(_locked_order(session_id))).mappings().one()
        return Settlement(False, order_dto(latest))
    order.update(status=target, paid_at=now, updated_at=now)
    if target != STATUS_PAID or order["quota"] == 0:
        return Settlement(target == STATUS_PAID, order)
    credit = update(users).where(users.c.id == order["user_id"]).values(quota=users.c.quota + order["quota"])
    if (await conn.execute(credit)).rowcount != 1:
        review = update(payment_orders).where(payment_orders.c.id == order["id"])
        await conn.execute(review.values(status=STATUS_MANUAL_REVIEW))
        order["status"] = STATUS_MANUAL_REVIEW
        return Settlement(False, order)
    return Settlement(True, order)


async def mark_ended(conn: AsyncConnection, session_id: str, status: str) -> None:
    """An expired or failed session: its order, if still pending, takes `status`."""
    stmt = (
        update(payment_orders)
        .where(payment_orders.c.session_id == session_id, payment_orders.c.status == STATUS_PENDING)
        .values(status=status, updated_at=now_ms())
    )
    await conn.execute(stmt)
