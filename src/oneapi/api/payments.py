"""Stripe top-ups (the fork's, SPEC §1.3): a user opens a Checkout Session for a USD amount and is
credited once Stripe's signed webhook says it was paid.

- POST /api/user/topup/stripe `{amount_usd, request_id?}` → `data` = {url, session_id, request_id}
- GET /api/user/topup/stripe/orders (the user's last 20) and …/orders/{session_id}
- POST /api/payment/stripe/webhook (public; Stripe-Signature checked) → `{"received": true}`

Errors carry real HTTP statuses, as in the fork: 400 bad amount or request id, 409 a request id
reused for another order, 502 Stripe refused, 503 Stripe not configured. The order row exists
before Stripe is called, so a paid session always has an order to settle.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response

from oneapi.api.auth import Caller, app_state, user_auth
from oneapi.api.body import Body, parse_body
from oneapi.api.errors import ApiError, JsonResponse, ok
from oneapi.api.openapi_doc import HAND_READ_BODIES
from oneapi.db.tables import users
from oneapi.services import payment_orders as orders
from oneapi.services import payment_rules as rules
from oneapi.services.redemptions import quota_text, write_topup_log
from oneapi.services.stripe_api import StripeApiError, create_checkout_session, expire_checkout_session
from oneapi.services.stripe_signature import SignatureError, verify
from oneapi.state import AppState

log = logging.getLogger(__name__)
router = APIRouter()

WEBHOOK_PATH = "/api/payment/stripe/webhook"
MAX_WEBHOOK_BYTES = 64 << 10
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
ENDED_EVENTS = {
    "checkout.session.expired": rules.STATUS_CANCELED,
    "checkout.session.async_payment_failed": rules.STATUS_FAILED,
}

NOT_CONFIGURED = "Stripe is not configured"
INVALID_CHECKOUT = "invalid checkout request"
NO_QUOTA_UNIT = "top-up quota is not configured"
REQUEST_ID_USED = "request_id was already used for a different or completed order"
CREATE_FAILED = "failed to create order"
STRIPE_FAILED = "failed to create Stripe Checkout Session"
BIND_FAILED = "failed to initialize checkout"
ORDER_NOT_FOUND = "order not found"


class CheckoutBody(Body):
    amount_usd: float = 0
    request_id: str = ""


class StripeEvent(BaseModel):
    """POST /api/payment/stripe/webhook: a Stripe event, read raw to check its signature."""

    id: str = Field(description="evt_…: a redelivered id is acknowledged without effect")
    type: str = Field(description="checkout.session.completed, …async_payment_succeeded, …expired, …")
    data: dict[str, Any] = Field(description='{"object": <the Checkout Session>}')


HAND_READ_BODIES[("POST", WEBHOOK_PATH)] = StripeEvent


# checkout --------------------------------------------------------------------------------------
def _checkout_params(
    user_id: int, order_id: int, request_id: str, cents: int, quota: int, base: str, email: str
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "client_reference_id": str(user_id),
        "success_url": base + "/topup?stripe=success&session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": base + "/topup?stripe=cancel",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": rules.CURRENCY,
                    "unit_amount": cents,
                    "product_data": {"name": f"Quota top-up: ${cents / 100:.2f}"},
                },
            }
        ],
        "metadata": {
            "user_id": str(user_id),
            "quota": str(quota),
            "request_id": request_id,
            "order_id": str(order_id),
        },
    }
    if email:
        params["customer_email"] = email
        params["payment_intent_data"] = {"receipt_email": email}
    return params


async def _order_for(
    state: AppState, user_id: int, request_id: str, cents: int, quota: int
) -> dict[str, Any]:
    """The new pending order, or the user's earlier one for the same request id and top-up."""
    engine = state.db.main
    pending = rules.pending_session_id(user_id, request_id)
    order = await orders.create_order(engine, user_id, request_id, pending, cents, quota)
    if order is not None:
        return order
    existing = await orders.order_by_request(engine, user_id, request_id)
    if existing is None:  # the insert failed for another reason than the request id
        raise ApiError(CREATE_FAILED, 500)
    if not orders.reusable(existing, cents, quota):
        raise ApiError(REQUEST_ID_USED, 409)
    return existing


@router.post("/api/user/topup/stripe")
async def create_checkout(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    state = app_state(request)
    config = rules.stripe_settings(state.settings, state.options)
    base = config.public_base_url
    if not config.ready or base is None:
        raise ApiError(NOT_CONFIGURED, 503)
    try:
        body = await parse_body(request, CheckoutBody, INVALID_CHECKOUT)
    except ApiError:
        raise ApiError(INVALID_CHECKOUT, 400) from None
    try:
        cents = rules.amount_cents(body.amount_usd, config.min_topup_usd)
    except rules.AmountError as exc:
        raise ApiError(str(exc), 400) from None
    quota = rules.quota_for(cents, config.quota_per_unit)
    if quota <= 0:
        raise ApiError(NO_QUOTA_UNIT, 503)
    request_id = body.request_id.strip() or rules.new_request_id()
    if not rules.valid_request_id(request_id):
        raise ApiError(rules.BAD_REQUEST_ID, 400)

    order = await _order_for(state, caller.id, request_id, cents, quota)
    email = await orders.user_email(state.db.main, caller.id)
    params = _checkout_params(caller.id, order["id"], request_id, cents, quota, base, email)
    key = rules.idempotency_key(caller.id, request_id)
    try:
        session = await create_checkout_session(config.api_base_url, config.secret_key, params, key)
    except StripeApiError as exc:
        log.error("creating the Checkout Session of order %d failed: %s", order["id"], exc)
        raise ApiError(STRIPE_FAILED, 502) from None
    session_id, url = str(session.get("id") or "").strip(), str(session.get("url") or "").strip()
    if not session_id or not url:
        log.error("Stripe returned a Checkout Session without id or url for order %d", order["id"])
        raise ApiError(STRIPE_FAILED, 502)
    if not await orders.bind_session(state.db.main, order["id"], session_id):
        log.error("order %d could not take session %s; expiring the session", order["id"], session_id)
        try:
            await expire_checkout_session(config.api_base_url, config.secret_key, session_id)
        except StripeApiError as exc:
            log.error("expiring the unbound session %s failed: %s", session_id, exc)
        raise ApiError(BIND_FAILED, 500)
    return ok({"url": url, "session_id": session_id, "request_id": request_id})


@router.get("/api/user/topup/stripe/orders")
async def list_orders(request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    return ok(await orders.list_orders(app_state(request).db.main, caller.id))


@router.get("/api/user/topup/stripe/orders/{session_id}")
async def get_order(session_id: str, request: Request, caller: Caller = user_auth) -> dict[str, Any]:
    session_id = session_id.strip()
    if not session_id:
        raise ApiError("session_id required", 400)
    order = await orders.user_order(app_state(request).db.main, caller.id, session_id)
    if order is None:
        raise ApiError(ORDER_NOT_FOUND, 404)
    return ok(order)


# webhook ---------------------------------------------------------------------------------------
def _answer(status: int = 200, **body: Any) -> JsonResponse:
    return JsonResponse(body or {"received": True}, status_code=status)


async def _read_capped(request: Request) -> bytes | None:
    """The raw body, or None once it exceeds MAX_WEBHOOK_BYTES."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_WEBHOOK_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _cents(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value)


async def _after_credit(state: AppState, order: dict[str, Any]) -> None:
    """The balance changed: the relay reloads it on its next request; the top-up is logged."""
    user_id = int(order["user_id"])
    if state.relay is not None:
        async with state.relay.writer.lock:  # a reload already reading cannot keep the old balance
            state.relay.accounts.forget_user(user_id)
    options = state.options
    amount = quota_text(
        order["quota"], options.get_bool("DisplayInCurrencyEnabled"), options.get_float("QuotaPerUnit")
    )
    content = f"Stripe top-up ${order['amount_cents'] / 100:.2f} ({amount})"
    try:
        async with state.db.main.connect() as conn:
            username = await conn.scalar(select(users.c.username).where(users.c.id == user_id))
        await write_topup_log(state.db.logs, user_id, username or "", int(order["quota"]), content)
    except SQLAlchemyError:  # the credit is committed: a lost log line must not fail the webhook
        log.exception("could not write the Stripe top-up log of user %d", user_id)


@router.post(WEBHOOK_PATH)
async def stripe_webhook(request: Request) -> Response:
    state = app_state(request)
    secret = rules.stripe_settings(state.settings, state.options).webhook_secret
    if not secret:
        return _answer(503, error="webhook secret not configured")
    payload = await _read_capped(request)
    if payload is None:
        return _answer(413, error="webhook payload too large")
    try:
        verify(payload, request.headers.get("Stripe-Signature", ""), secret, time.time())
        event = orjson.loads(payload)
        if not isinstance(event, dict):
            raise ValueError("the event is not a JSON object")
    except (SignatureError, ValueError) as exc:
        log.warning("Stripe webhook refused: %s", exc)
        return _answer(400, error="signature verification failed")

    event_id, event_type = _text(event.get("id")), _text(event.get("type"))
    data = event.get("data")
    session = data.get("object") if isinstance(data, dict) else None
    session = session if isinstance(session, dict) else {}
    session_id = _text(session.get("id"))
    settlement: orders.Settlement | None = None
    failure = "event lookup failed"
    try:
        async with orders.event_transaction(state.db.main, event_id, event_type) as conn:
            if event_type in PAID_EVENTS and session_id and session.get("payment_status") == "paid":
                failure = "settlement failed"
                settlement = await orders.settle_paid(
                    conn, session_id, _cents(session.get("amount_total")), _text(session.get("currency"))
                )
            elif event_type in ENDED_EVENTS and session_id:
                failure = "status update failed"
                await orders.mark_ended(conn, session_id, ENDED_EVENTS[event_type])
    except orders.DuplicateEvent:
        return _answer(received=True, duplicate=True)
    except orders.OrderNotFound:
        # Not acknowledged: Stripe retries for days, and the operator sees the failing endpoint.
        log.error("Stripe event %s (paid) names session %s, which no order has", event_id, session_id)
        return _answer(500, error="payment order not found")
    except SQLAlchemyError:
        log.exception("Stripe event %s (%s) could not be applied", event_id, event_type)
        return _answer(500, error=failure)

    if settlement is not None and settlement.order["status"] == rules.STATUS_MANUAL_REVIEW:
        order = settlement.order
        log.error("Stripe session %s of user %s needs manual review", session_id, order["user_id"])
        return _answer(received=True, manual_review=True)
    if settlement is not None and settlement.credited:
        await _after_credit(state, settlement.order)
    return _answer()
