"""Stripe top-ups over HTTP against a fake Stripe: checkout creates an order and a session, a
signed `checkout.session.completed` credits the user exactly once (replays and concurrent
deliveries included), the relay sees the new balance at once, bad signatures change nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_stripe import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    checkout_event,
    paid,
    signed_delivery,
)
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer

WEBHOOK = "/api/payment/stripe/webhook"
CHECKOUT = "/api/user/topup/stripe"
QUOTA_PER_USD = 500_000


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture
def with_keys() -> bool:
    """Whether the server starts with STRIPE_* keys (a test parametrizes False to start without)."""
    return True


@pytest.fixture
def server(make_server: Callable[..., LiveServer], stripe: FakeStripe, with_keys: bool) -> LiveServer:
    env = {"STRIPE_API_BASE_URL": stripe.url}
    if with_keys:
        env |= {
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_PUBLIC_BASE_URL": "https://pay.example.com",
        }
    return make_server(**env)


@pytest.fixture
def alice(make_user: Callable[..., Api], db: sa.Engine) -> Api:
    api = make_user("alice", quota=0)
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET email = 'alice@example.com' WHERE username = 'alice'"))
    return api


def scalar(db: sa.Engine, sql: str, **params: Any) -> Any:
    with db.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def user_id(db: sa.Engine, username: str) -> int:
    return int(scalar(db, "SELECT id FROM users WHERE username = :u", u=username))


def quota_of(db: sa.Engine, username: str) -> int:
    return int(scalar(db, "SELECT quota FROM users WHERE username = :u", u=username))


def orders(db: sa.Engine) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM payment_orders ORDER BY id")).mappings()
        return [dict(r) for r in rows]


def order_of(db: sa.Engine, session_id: str) -> dict[str, Any]:
    found = [o for o in orders(db) if o["session_id"] == session_id]
    assert len(found) == 1, found
    return found[0]


def event_count(db: sa.Engine) -> int:
    return int(scalar(db, "SELECT COUNT(*) FROM stripe_webhook_events"))


def topup_logs(db: sa.Engine) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT user_id, username, quota, content FROM logs WHERE type = 1"))
        return [dict(r) for r in rows.mappings()]


def set_option(root: Api, key: str, value: str) -> None:
    body = root.put("/api/option/", json={"key": key, "value": value})
    assert body["success"], body


def checkout(user: Api, amount: Any = 10, request_id: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"amount_usd": amount}
    if request_id is not None:
        body["request_id"] = request_id
    return user.http.post(CHECKOUT, json=body)


def open_session(user: Api, stripe: FakeStripe, amount: float = 10) -> dict[str, Any]:
    """Check out; the fake's copy of the new session."""
    response = checkout(user, amount)
    assert response.status_code == 200, response.text
    return dict(stripe.sessions[response.json()["data"]["session_id"]])


def deliver(
    api: Api, event: dict[str, Any], secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> httpx.Response:
    body, headers = signed_delivery(event, secret, timestamp)
    return api.http.post(WEBHOOK, content=body, headers=headers)


def paid_event(session: dict[str, Any], event_id: str = "evt_paid_1") -> dict[str, Any]:
    return checkout_event(event_id, "checkout.session.completed", session, **paid(session))


# ---- status and configuration ------------------------------------------------------------------


def test_status_says_stripe_is_enabled_with_the_minimum(anon: Api) -> None:
    data = anon.get("/api/status")["data"]
    assert data["stripe_enabled"] is True
    assert data["min_topup_usd"] == 5


@pytest.mark.parametrize("with_keys", [False])
def test_without_keys_stripe_is_off_until_the_options_hold_them(
    anon: Api, root: Api, alice: Api, stripe: FakeStripe, db: sa.Engine
) -> None:
    assert anon.get("/api/status")["data"]["stripe_enabled"] is False
    refused = checkout(alice)
    assert refused.status_code == 503
    assert refused.json() == {"success": False, "message": "Stripe is not configured"}
    hook = deliver(anon, checkout_event("evt_off", "checkout.session.completed", {"id": "cs_x"}))
    assert hook.status_code == 503 and hook.json() == {"error": "webhook secret not configured"}
    assert stripe.received == [] and orders(db) == []

    set_option(root, "StripeWebhookSecret", WEBHOOK_SECRET)
    set_option(root, "StripeSecretKey", "sk_live_real")
    # a live key needs an HTTPS origin for the return URLs; ServerAddress is http://localhost:3000
    assert anon.get("/api/status")["data"]["stripe_enabled"] is False
    assert checkout(alice).status_code == 503
    set_option(root, "StripeSecretKey", SECRET_KEY)  # a test key may use a loopback http origin
    assert anon.get("/api/status")["data"]["stripe_enabled"] is True
    response = checkout(alice)
    assert response.status_code == 200, response.text
    form = stripe.creates[0][1]
    assert (
        form["success_url"] == "http://localhost:3000/topup?stripe=success&session_id={CHECKOUT_SESSION_ID}"
    )
    assert form["cancel_url"] == "http://localhost:3000/topup?stripe=cancel"
    listed = {o["key"] for o in root.get("/api/option/")["data"]}
    assert "MinTopUpUSD" in listed and not {"StripeSecretKey", "StripeWebhookSecret"} & listed


# ---- checkout ----------------------------------------------------------------------------------


def test_checkout_creates_a_pending_order_and_returns_the_session_url(
    alice: Api, stripe: FakeStripe, db: sa.Engine
) -> None:
    response = checkout(alice, 12.5, request_id="order-1")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    session = stripe.sessions[data["session_id"]]
    assert data == {"url": session["url"], "session_id": session["id"], "request_id": "order-1"}
    uid = user_id(db, "alice")

    key, form = stripe.creates[0]
    assert key == f"one-api:stripe:checkout:v1:{uid}:order-1"
    order = order_of(db, session["id"])
    assert form == {
        "mode": "payment",
        "client_reference_id": str(uid),
        "success_url": "https://pay.example.com/topup?stripe=success&session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://pay.example.com/topup?stripe=cancel",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "1250",
        "line_items[0][price_data][product_data][name]": "Quota top-up: $12.50",
        "metadata[user_id]": str(uid),
        "metadata[quota]": "6250000",
        "metadata[request_id]": "order-1",
        "metadata[order_id]": str(order["id"]),
        "customer_email": "alice@example.com",
        "payment_intent_data[receipt_email]": "alice@example.com",
    }
    assert stripe.received[0].headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert order["user_id"] == uid and order["provider"] == "stripe" and order["request_id"] == "order-1"
    assert order["amount_cents"] == 1250 and order["currency"] == "usd"
    assert order["quota"] == 6_250_000 and order["status"] == "pending" and order["paid_at"] == 0
    assert order["created_at"] > 1_000_000_000_000  # Unix ms
    assert quota_of(db, "alice") == 0

    listed = alice.get("/api/user/topup/stripe/orders")
    assert listed["success"] and [o["session_id"] for o in listed["data"]] == [session["id"]]
    one = alice.get(f"/api/user/topup/stripe/orders/{session['id']}")["data"]
    assert one == listed["data"][0]
    assert set(one) == {
        "id",
        "user_id",
        "provider",
        "request_id",
        "session_id",
        "amount_cents",
        "currency",
        "quota",
        "status",
        "created_at",
        "updated_at",
        "paid_at",
    }


def test_orders_are_private_to_their_user(
    alice: Api, make_user: Callable[..., Api], stripe: FakeStripe
) -> None:
    session = open_session(alice, stripe)
    bob = make_user("bob")
    missing = bob.http.get(f"/api/user/topup/stripe/orders/{session['id']}")
    assert missing.status_code == 404
    assert missing.json() == {"success": False, "message": "order not found"}
    assert bob.get("/api/user/topup/stripe/orders")["data"] == []
    assert httpx.get(bob.http.base_url.join("/api/user/topup/stripe/orders")).status_code == 401


def test_a_retried_checkout_is_the_same_order_and_session(
    alice: Api, stripe: FakeStripe, db: sa.Engine
) -> None:
    first = checkout(alice, 20, request_id="retry-me").json()["data"]
    again = checkout(alice, 20, request_id="retry-me").json()["data"]
    assert again == first
    assert len(orders(db)) == 1 and len(stripe.sessions) == 1
    keys = [k for k, _ in stripe.creates]
    assert len(set(keys)) == 1  # the fake answered the retry from its idempotency record
    other = checkout(alice, 25, request_id="retry-me")
    assert other.status_code == 409
    assert other.json()["message"] == "request_id was already used for a different or completed order"
    generated = checkout(alice, 20).json()["data"]  # without request_id: a fresh one each time
    assert generated["request_id"] != "retry-me" and len(generated["request_id"]) == 32
    assert len(orders(db)) == 2


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (4.99, "minimum top-up amount is $5"),
        (1, "minimum top-up amount is $5"),
        (0, "amount must be a positive finite number"),
        (-10, "amount must be a positive finite number"),
        (10.001, "amount must have at most two decimal places"),
        (100_000.01, "amount too large"),
        ("10", "invalid checkout request"),
        (True, "invalid checkout request"),
    ],
)
def test_bad_amounts_are_refused_before_any_order(
    alice: Api, stripe: FakeStripe, db: sa.Engine, amount: Any, message: str
) -> None:
    response = checkout(alice, amount)
    assert response.status_code == 400
    assert response.json() == {"success": False, "message": message}
    assert orders(db) == [] and stripe.received == []


def test_bad_bodies_and_request_ids_are_refused(alice: Api, stripe: FakeStripe, db: sa.Engine) -> None:
    for body in (b"{not json", b"[1]", b""):
        response = alice.http.post(CHECKOUT, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json()["message"] == "invalid checkout request"
    for request_id in ("has space", "x" * 65, "ünïcode"):
        response = checkout(alice, 10, request_id=request_id)
        assert response.status_code == 400
        assert "request_id must contain only letters" in response.json()["message"]
    assert orders(db) == [] and stripe.received == []


def test_the_minimum_follows_the_option(root: Api, anon: Api, alice: Api, stripe: FakeStripe) -> None:
    set_option(root, "MinTopUpUSD", "20")
    assert anon.get("/api/status")["data"]["min_topup_usd"] == 20
    assert checkout(alice, 19.99).json()["message"] == "minimum top-up amount is $20"
    assert checkout(alice, 20).status_code == 200


def test_min_topup_usd_comes_from_the_environment(
    make_server: Callable[..., LiveServer], stripe: FakeStripe
) -> None:
    server = make_server(MIN_TOPUP_USD="7", STRIPE_API_BASE_URL=stripe.url)
    assert httpx.get(server.url + "/api/status").json()["data"]["min_topup_usd"] == 7


def test_stripe_refusing_the_session_is_a_502_and_leaves_the_order_pending(
    alice: Api, stripe: FakeStripe, db: sa.Engine
) -> None:
    stripe.fail_next.append((500, "boom"))
    response = checkout(alice, 10, request_id="r1")
    assert response.status_code == 502
    assert response.json() == {"success": False, "message": "failed to create Stripe Checkout Session"}
    [order] = orders(db)
    assert order["status"] == "pending" and order["session_id"].startswith("pending:stripe:")
    retried = checkout(alice, 10, request_id="r1")  # the user retries: same order, now bound
    assert retried.status_code == 200
    assert order_of(db, retried.json()["data"]["session_id"])["id"] == order["id"]


# ---- webhook: signatures -----------------------------------------------------------------------


def test_unsigned_or_badly_signed_deliveries_are_refused_and_credit_nothing(
    anon: Api, alice: Api, stripe: FakeStripe, db: sa.Engine
) -> None:
    session = open_session(alice, stripe)
    event = paid_event(session)
    body, headers = signed_delivery(event)
    attempts = [
        anon.http.post(WEBHOOK, content=body),  # no header
        deliver(anon, event, secret="whsec_someone_else"),
        deliver(anon, event, timestamp=int(time.time()) - 310),  # stale, well past the 300 s tolerance
        deliver(anon, event, timestamp=int(time.time()) + 310),  # from the future, with room for the clock
        anon.http.post(WEBHOOK, content=body.replace(b"paid", b"PAID", 1), headers=headers),  # tampered
        anon.http.post(WEBHOOK, content=body, headers={"Stripe-Signature": "t=abc,v1=00"}),
        anon.http.post(WEBHOOK, content=body, headers={"Stripe-Signature": headers["Stripe-Signature"][:20]}),
    ]
    for response in attempts:
        assert response.status_code == 400, response.text
        assert response.json() == {"error": "signature verification failed"}
    assert quota_of(db, "alice") == 0 and event_count(db) == 0
    assert order_of(db, session["id"])["status"] == "pending"
    assert topup_logs(db) == []


def test_a_signature_among_several_and_a_recent_timestamp_are_accepted(
    anon: Api, alice: Api, stripe: FakeStripe, db: sa.Engine
) -> None:
    session = open_session(alice, stripe)
    body, headers = signed_delivery(paid_event(session), timestamp=int(time.time()) - 250)
    t, v1 = headers["Stripe-Signature"].split(",")
    headers["Stripe-Signature"] = f"{t},v1={'0' * 64},{v1},v0=ignored"  # a rolled secret: two v1
    response = anon.http.post(WEBHOOK, content=body, headers=headers)
    assert response.status_code == 200 and response.json() == {"received": True}
    assert quota_of(db, "alice") == 10 * QUOTA_PER_USD


def test_an_oversized_delivery_is_refused(anon: Api) -> None:
    event = checkout_event("evt_big", "checkout.session.completed", {"id": "cs_x", "pad": "x" * 70_000})
    response = deliver(anon, event)
    assert response.status_code == 413 and response.json() == {"error": "webhook payload too large"}


# ---- webhook: settlement -----------------------------------------------------------------------


def test_a_paid_session_credits_once_with_a_log_row(
    anon: Api, alice: Api, stripe: FakeStripe, db: sa.Engine
) -> None:
    session = open_session(alice, stripe, 10)
    response = deliver(anon, paid_event(session))
    assert response.status_code == 200 and response.json() == {"received": True}
    assert quota_of(db, "alice") == 10 * QUOTA_PER_USD
    order = order_of(db, session["id"])
    assert order["status"] == "paid" and order["paid_at"] >= order["created_at"]
    assert alice.get("/api/user/self")["data"]["quota"] == 10 * QUOTA_PER_USD
    assert topup_logs(db) == [
        {
            "user_id": user_id(db, "alice"),
            "username": "alice",
            "quota": 10 * QUOTA_PER_USD,
            "content": "Stripe top-up $10.00 (＄10.000000 quota)",
        }
    ]
    assert alice.get(f"/api/user/topup/stripe/orders/{session['id']}")["data"]["status"] == "paid"

    replay = deliver(anon, paid_event(session))  # Stripe redelivers the same event
    assert replay.status_code == 200 and replay.json() == {"received": True, "duplicate": True}
    succeeded = checkout_event(
        "evt_paid_2", "checkout.session.async_payment_succeeded", session, **paid(session)
    )
    assert deliver(anon, succeeded).json() == {"received": True}  # another event, same session
    assert quota_of(db, "alice") == 10 * QUOTA_PER_USD
    assert len(topup_logs(db)) == 1
    assert event_count(db) == 2


def test_concurrent_deliveries_credit_once(anon: Api, alice: Api, stripe: FakeStripe, db: sa.Engine) -> None:
    session = open_session(alice, stripe, 5)
    same = [paid_event(session, "evt_same")] * 4
    others = [paid_event(session, f"evt_other_{i}") for i in range(4)]
    answers: list[dict[str, Any]] = []
    barrier = threading.Barrier(len(same) + len(others))

    def send(event: dict[str, Any]) -> None:
        body, headers = signed_delivery(event)
        with httpx.Client(base_url=anon.http.base_url, timeout=30) as client:
            barrier.wait()
            response = client.post(WEBHOOK, content=body, headers=headers)
        assert response.status_code == 200, response.text
        answers.append(response.json())

    threads = [threading.Thread(target=send, args=(e,)) for e in same + others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 8
    assert answers.count({"received": True, "duplicate": True}) == 3  # the same event id, 3 of 4
    assert quota_of(db, "alice") == 5 * QUOTA_PER_USD
    assert len(topup_logs(db)) == 1
    assert order_of(db, session["id"])["status"] == "paid"
    assert event_count(db) == 5


def test_a_paid_event_for_an_unknown_session_credits_nothing_and_is_retried(
    anon: Api, alice: Api, db: sa.Engine
) -> None:
    ghost = {"id": "cs_test_ghost", "amount_total": 1000, "currency": "usd"}
    response = deliver(anon, paid_event(ghost, "evt_ghost"))
    assert response.status_code == 500  # as the fork: Stripe keeps retrying, the operator sees it
    assert response.json() == {"error": "payment order not found"}
    assert event_count(db) == 0 and topup_logs(db) == [] and quota_of(db, "alice") == 0


def test_unpaid_completion_and_other_events_are_acknowledged_without_credit(
    anon: Api, alice: Api, stripe: FakeStripe, db: sa.Engine
) -> None:
    session = open_session(alice, stripe)
    unpaid = checkout_event("evt_unpaid", "checkout.session.completed", session, payment_status="unpaid")
    assert deliver(anon, unpaid).json() == {"received": True}
    other = checkout_event("evt_other", "customer.created", {"id": "cus_1"})
    assert deliver(anon, other).json() == {"received": True}
    assert order_of(db, session["id"])["status"] == "pending"
    assert quota_of(db, "alice") == 0 and event_count(db) == 2


def test_expired_and_failed_sessions_mark_their_orders(
    anon: Api, alice: Api, stripe: FakeStripe, db: sa.Engine
) -> None:
    expired, failed = open_session(alice, stripe), open_session(alice, stripe, 6)
    response = deliver(anon, checkout_event("evt_exp", "checkout.session.expired", expired, status="expired"))
    assert response.json() == {"received": True}
    deliver(anon, checkout_event("evt_fail", "checkout.session.async_payment_failed", failed))
    assert order_of(db, expired["id"])["status"] == "canceled"
    assert order_of(db, failed["id"])["status"] == "failed"
    assert quota_of(db, "alice") == 0
    # Stripe does not order deliveries: a later paid event still settles a failed order
    assert deliver(anon, paid_event(failed, "evt_late")).json() == {"received": True}
    assert order_of(db, failed["id"])["status"] == "paid"
    assert quota_of(db, "alice") == 6 * QUOTA_PER_USD
    # and an expiry arriving after payment does not undo it
    deliver(anon, checkout_event("evt_exp2", "checkout.session.expired", failed))
    assert order_of(db, failed["id"])["status"] == "paid"


def test_an_amount_mismatch_goes_to_manual_review(
    anon: Api, alice: Api, stripe: FakeStripe, db: sa.Engine
) -> None:
    session = open_session(alice, stripe, 10)
    event = checkout_event(
        "evt_odd", "checkout.session.completed", session, **{**paid(session), "amount_total": 1}
    )
    response = deliver(anon, event)
    assert response.status_code == 200
    assert response.json() == {"received": True, "manual_review": True}
    assert order_of(db, session["id"])["status"] == "manual_review"
    assert quota_of(db, "alice") == 0 and topup_logs(db) == []


# ---- the relay sees the credit at once ---------------------------------------------------------


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def test_the_relay_uses_the_credit_at_once(
    server: LiveServer,
    root: Api,
    anon: Api,
    alice: Api,
    stripe: FakeStripe,
    upstream: FakeOpenAI,
    db: sa.Engine,
) -> None:
    relay = RelaySetup(server=server, root=root, user=alice, key="", db=db)
    relay.key = relay.make_key()
    relay.add_channel(upstream)

    def chat() -> Any:
        return relay.client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )

    with pytest.raises(openai.PermissionDeniedError):
        chat()  # no quota yet, and the relay now holds alice's account in memory
    session = open_session(alice, stripe, 5)
    assert deliver(anon, paid_event(session)).json() == {"received": True}
    assert chat().choices[0].message.content == "Hello from the fake upstream."
    relay.wait_flushed(1)
    assert 0 < quota_of(db, "alice") < 5 * QUOTA_PER_USD
