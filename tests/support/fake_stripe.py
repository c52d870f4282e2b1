"""A fake Stripe API on loopback, strict about what the gateway sends, and Stripe-style webhooks.

`POST /v1/checkout/sessions` demands the Bearer secret key, a form-encoded body with the fields a
one-off USD payment session needs, and an Idempotency-Key: a repeated key returns the first
session (a different body under the same key is refused, as Stripe does). `POST
/v1/checkout/sessions/{id}/expire` expires one. `fail_next` queues error answers.

`signed_delivery` builds a webhook delivery (body and Stripe-Signature header) the way Stripe
signs it: HMAC-SHA256 over "<t>.<body>" with the endpoint secret.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from tests.support.threaded_server import ThreadedServer

SECRET_KEY = "sk_test_fake_0123456789"
WEBHOOK_SECRET = "whsec_fake_0123456789"
REQUIRED_FIELDS = (
    "mode",
    "success_url",
    "cancel_url",
    "client_reference_id",
    "line_items[0][quantity]",
    "line_items[0][price_data][currency]",
    "line_items[0][price_data][unit_amount]",
    "line_items[0][price_data][product_data][name]",
)


def _error(status: int, message: str, kind: str = "invalid_request_error") -> web.Response:
    return web.json_response({"error": {"type": kind, "message": message}}, status=status)


class FakeStripe(ThreadedServer):
    def __init__(self, secret_key: str = SECRET_KEY) -> None:
        super().__init__()
        self.secret_key = secret_key
        self.sessions: dict[str, dict[str, Any]] = {}
        self.creates: list[tuple[str, dict[str, str]]] = []  # (Idempotency-Key, form) per create
        self.expired: list[str] = []
        self.fail_next: list[tuple[int, str]] = []
        self._by_key: dict[str, tuple[dict[str, str], str]] = {}
        self._ids = itertools.count(1)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw, _ = await self._record(request)
        if request.headers.get("Authorization") != f"Bearer {self.secret_key}":
            return _error(401, "Invalid API Key provided", "authentication_error")
        if request.method != "POST":
            return _error(405, "only POST is faked")
        if request.content_type != "application/x-www-form-urlencoded":
            return _error(400, f"expected a form-encoded body, got {request.content_type}")
        pairs = parse_qsl(raw.decode(), keep_blank_values=True)
        form = dict(pairs)
        if len(form) != len(pairs):
            return _error(400, "a field was sent twice")
        if self.fail_next:
            status, message = self.fail_next.pop(0)
            return _error(status, message, "api_error")
        if request.path == "/v1/checkout/sessions":
            return self._create(request.headers.get("Idempotency-Key", ""), form)
        parts = request.path.split("/")
        if len(parts) == 5 and parts[:3] == ["", "v1", "checkout"] and parts[4] == "expire":
            return self._expire(parts[3])
        return _error(404, f"Unrecognized request URL (POST: {request.path})")

    def _create(self, key: str, form: dict[str, str]) -> web.Response:
        if not key:
            return _error(400, "the fake demands an Idempotency-Key on every create")
        if key in self._by_key:
            first, session_id = self._by_key[key]
            if first != form:
                return _error(400, "Keys for idempotent requests can only be used with the same parameters")
            return web.json_response(self.sessions[session_id])
        missing = [f for f in REQUIRED_FIELDS if not form.get(f)]
        if missing:
            return _error(400, f"Missing required param: {missing[0]}")
        if form["mode"] != "payment":
            return _error(400, "the fake only knows payment sessions")
        if "{CHECKOUT_SESSION_ID}" not in form["success_url"]:
            return _error(400, "success_url should name {CHECKOUT_SESSION_ID}")
        try:
            amount = int(form["line_items[0][price_data][unit_amount]"])
            quantity = int(form["line_items[0][quantity]"])
        except ValueError:
            return _error(400, "Invalid integer")
        session_id = f"cs_test_fake{next(self._ids):04d}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": amount * quantity,
            "currency": form["line_items[0][price_data][currency]"],
            "client_reference_id": form["client_reference_id"],
            "customer_email": form.get("customer_email"),
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
        }
        self.sessions[session_id] = session
        self._by_key[key] = (form, session_id)
        self.creates.append((key, form))
        return web.json_response(session)

    def _expire(self, session_id: str) -> web.Response:
        session = self.sessions.get(session_id)
        if session is None:
            return _error(404, f"No such checkout.session: '{session_id}'")
        session["status"] = "expired"
        self.expired.append(session_id)
        return web.json_response(session)


def checkout_event(event_id: str, event_type: str, session: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An event about a Checkout Session (as Stripe sends it), the session's fields `changes`d."""
    obj = {**session, **changes}
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": int(time.time()),
        "type": event_type,
        "data": {"object": obj},
        "livemode": False,
    }


def paid(session: dict[str, Any]) -> dict[str, Any]:
    """The fields a completed, paid session has."""
    return {"status": "complete", "payment_status": "paid", "amount_total": session["amount_total"]}


def signed_delivery(
    event: dict[str, Any], secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of a webhook delivery of `event`, signed as Stripe signs it."""
    body = orjson.dumps(event)
    t = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={t},v1={signature}", "Content-Type": "application/json"}
