"""External consumption through a relay key (SPEC §5.9): a service outside the gateway charges a
key for work done elsewhere, at once (`single`) or as a hold (`pre`) that is later settled at
the real amount (`post`) or released (`cancel`).

Holds are rows of `token_transactions`, so they survive a restart; a hold left pending past its
timeout is confirmed at the held amount by the key's next consume call. Quota moves go through
the relay's ledger like relay requests (checked and debited with no await in between, written by
the billing writer), and every settled charge gets a consume log row. Settling is a conditional
UPDATE on the pending row, so a hold is settled once even when calls race or several nodes serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.db.tables import token_transactions
from oneapi.relay.auth import Identity
from oneapi.relay.billing import Settlement, consume_log_row
from oneapi.services.keys import now_ms, now_s, uuid_hex
from oneapi.services.pricing import Price, Usage
from oneapi.services.roles import TOKEN_ENABLED
from oneapi.state import AppState

PENDING, CONFIRMED, AUTO_CONFIRMED, CANCELED = 1, 2, 3, 4
STATUS_NAMES = {
    PENDING: "pending",
    CONFIRMED: "confirmed",
    AUTO_CONFIRMED: "auto_confirmed",
    CANCELED: "canceled",
}
PHASES = ("single", "pre", "post", "cancel")
MAX_TRANSACTION_ID = 64
LOG_MODEL_LENGTH = 191  # logs.model_name is varchar(191)

NOT_ENABLED = "API Key is not enabled"
EXPIRED = (
    "The token has expired and cannot be used. Please modify the expiration time of the token, "
    "or set it to never expire"
)
EXHAUSTED = "The available quota of the token has been used up. Please add more quota or set it to unlimited"


class ConsumeError(ValueError):
    """A consume call that cannot be carried out; the message is shown to the caller."""


@dataclass(frozen=True)
class ConsumeRequest:
    add_used_quota: int = 0
    add_reason: str = ""
    phase: str | None = None
    transaction_id: str | None = None
    final_used_quota: int | None = None
    timeout_seconds: int | None = None
    elapsed_time_ms: int | None = None


async def list_transactions(
    engine: AsyncEngine,
    token_id: int,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of a key's transactions, newest first, and how many it has in all."""
    where = token_transactions.c.token_id == token_id
    async with engine.connect() as conn:
        total = (
            await conn.execute(select(func.count()).select_from(token_transactions).where(where))
        ).scalar_one()
        rows = (
            (
                await conn.execute(
                    select(token_transactions)
                    .where(where)
                    .order_by(token_transactions.c.id.desc())
                    .offset(offset)
                    .limit(limit)
                )
            )
            .mappings()
            .all()
        )
    return [transaction_dto(dict(r)) for r in rows], int(total)


def transaction_dto(row: dict[str, Any]) -> dict[str, Any]:
    status = int(row["status"] or 0)
    return {
        "id": row["id"],
        "transaction_id": row["transaction_id"],
        "token_id": row["token_id"],
        "user_id": row["user_id"],
        "status": STATUS_NAMES.get(status, "unknown"),
        "status_code": status,
        "pre_quota": row["pre_quota"] or 0,
        "final_quota": row["final_quota"],
        "reason": row["reason"] or "",
        "request_id": row["request_id"] or "",
        "trace_id": row["trace_id"] or "",
        "expires_at": row["expires_at"] or 0,
        "confirmed_at": row["confirmed_at"],
        "canceled_at": row["canceled_at"],
        "auto_confirmed": bool(row["auto_confirmed"]),
        "elapsed_time_ms": row["elapsed_time_ms"],
        "created_at": row["created_at"] or 0,
        "updated_at": row["updated_at"] or 0,
    }


async def consume(
    state: AppState, identity: Identity, req: ConsumeRequest, request_id: str
) -> dict[str, Any]:
    """Carry out one consume call; returns the transaction row it created or settled."""
    reason = req.add_reason.strip()
    if not reason:
        raise ConsumeError("add_reason cannot be empty")
    phase = (req.phase or "").strip().lower() or "single"
    if phase not in PHASES:
        raise ConsumeError(f"unsupported phase: {phase}")
    for name in ("add_used_quota", "final_used_quota", "timeout_seconds", "elapsed_time_ms"):
        value = getattr(req, name)
        if value is not None and value < 0:
            raise ConsumeError(f"{name} must not be negative")
    call = _Call(state, identity, req, reason, request_id)
    if phase == "single":
        return await call.single()
    if phase == "pre":
        return await call.pre()
    if phase == "post":
        return await call.post()
    return await call.cancel()


async def settle_expired(state: AppState, identity: Identity, request_id: str) -> int:
    """Confirm the key's holds whose timeout has passed, at the held amount; how many were."""
    now = now_s()
    stmt = select(token_transactions).where(
        token_transactions.c.token_id == identity.token.id,
        token_transactions.c.status == PENDING,
        token_transactions.c.expires_at > 0,
        token_transactions.c.expires_at <= now,
    )
    async with state.db.main.connect() as conn:
        expired = [dict(r) for r in (await conn.execute(stmt)).mappings().all()]
    settled = 0
    for txn in expired:
        values = {"status": AUTO_CONFIRMED, "final_quota": txn["pre_quota"], "confirmed_at": now}
        if not await _leave_pending(state, txn, {**values, "auto_confirmed": True}):
            continue
        content = f"External ({txn['reason']}) auto-confirmed {_quota_text(state, txn['pre_quota'])} "
        content += f"(transaction {txn['transaction_id']})"
        _charged(state, identity, txn, content, request_id)
        settled += 1
    return settled


class _Call:
    """One consume call: the caller, the request and the ledger it moves quota in."""

    def __init__(
        self, state: AppState, identity: Identity, req: ConsumeRequest, reason: str, request_id: str
    ) -> None:
        self.state = state
        self.identity = identity
        self.req = req
        self.reason = reason
        self.request_id = request_id
        self.ledger = state.relay.ledger
        self.limited = not identity.token.unlimited

    async def single(self) -> dict[str, Any]:
        amount = self.req.add_used_quota
        tid = self._transaction_id()
        self._check_usable()
        self._hold(amount)
        row = self._new_row(tid, CONFIRMED, amount, final_quota=amount, confirmed_at=now_s())
        txn = await self._insert(row, amount)
        _charged(self.state, self.identity, txn, self._finalized(txn), self.request_id)
        return txn

    async def pre(self) -> dict[str, Any]:
        amount = self.req.add_used_quota
        if amount == 0:
            raise ConsumeError("add_used_quota must be greater than 0 for pre phase")
        tid = self._transaction_id()
        self._check_usable()
        self._hold(amount)
        row = self._new_row(tid, PENDING, amount, expires_at=now_s() + self._timeout())
        txn = await self._insert(row, amount)
        self.state.relay.writer.notify()
        return txn

    async def post(self) -> dict[str, Any]:
        txn = await self._pending("post")
        final = self.req.final_used_quota
        if final is None:
            if self.req.add_used_quota == 0:
                raise ConsumeError("final_used_quota or add_used_quota must be provided for post phase")
            final = self.req.add_used_quota
        values: dict[str, Any] = {"status": CONFIRMED, "final_quota": final, "confirmed_at": now_s()}
        values |= {"expires_at": 0, "reason": self.reason}
        if self.req.elapsed_time_ms:
            values["elapsed_time_ms"] = self.req.elapsed_time_ms
        await self._settle(txn, values, "post")
        self._move(txn, final - int(txn["pre_quota"] or 0))
        _charged(self.state, self.identity, txn, self._finalized(txn), self.request_id)
        return txn

    async def cancel(self) -> dict[str, Any]:
        txn = await self._pending("cancel")
        values = {"status": CANCELED, "final_quota": 0, "canceled_at": now_s(), "expires_at": 0}
        await self._settle(txn, values, "cancel")
        self._move(txn, -int(txn["pre_quota"] or 0))
        self.state.relay.writer.notify()
        return txn

    def _finalized(self, txn: dict[str, Any]) -> str:
        final, pre = _quota_text(self.state, txn["final_quota"]), _quota_text(self.state, txn["pre_quota"])
        return f"External ({self.reason}) finalized {final} (pre {pre}, transaction {txn['transaction_id']})"

    # checks and moves ------------------------------------------------------------------------
    def _check_usable(self) -> None:
        token = self.identity.token
        if token.status != TOKEN_ENABLED:
            raise ConsumeError(NOT_ENABLED)
        if token.expired_time != -1 and token.expired_time <= now_s():
            raise ConsumeError(EXPIRED)
        if self.limited and self.ledger.token_balance.get(token.id, 0) <= 0:
            raise ConsumeError(EXHAUSTED)

    def _hold(self, amount: int) -> None:
        """Check both balances and debit `amount`, with no await in between."""
        if amount == 0:
            return
        token_id, user_id = self.identity.token.id, self.identity.user.id
        remain = self.ledger.token_balance.get(token_id, 0)
        if self.limited and remain < amount:
            raise ConsumeError(f"insufficient token quota: remaining {remain}, need {amount}")
        user_quota = self.ledger.user_balance.get(user_id, 0)
        if user_quota < amount:
            raise ConsumeError(f"insufficient user quota: remaining {user_quota}, need {amount}")
        self.ledger.move(user_id, token_id, amount, limited=self.limited, now=now_s())

    def _move(self, txn: dict[str, Any], amount: int) -> None:
        """Charge (or, negative, refund) against the hold, as limited as the key was when it was made."""
        limited = bool(txn["token_limited"])
        self.ledger.move(int(txn["user_id"]), int(txn["token_id"]), amount, limited=limited, now=now_s())

    def _timeout(self) -> int:
        settings = self.state.settings
        timeout = settings.external_billing_default_timeout or 600
        if self.req.timeout_seconds:
            timeout = self.req.timeout_seconds
        if settings.external_billing_max_timeout > 0:
            timeout = min(timeout, settings.external_billing_max_timeout)
        return timeout

    # rows ------------------------------------------------------------------------------------
    def _transaction_id(self) -> str:
        given = (self.req.transaction_id or "").strip()
        if len(given) > MAX_TRANSACTION_ID:
            raise ConsumeError(f"transaction_id is too long (at most {MAX_TRANSACTION_ID} characters)")
        return given or uuid_hex()

    def _new_row(self, tid: str, status: int, pre: int, **fields: Any) -> dict[str, Any]:
        stamp = now_ms()
        row: dict[str, Any] = {
            "transaction_id": tid,
            "token_id": self.identity.token.id,
            "user_id": self.identity.user.id,
            "status": status,
            "pre_quota": pre,
            "final_quota": None,
            "token_limited": self.limited,
            "reason": self.reason,
            "request_id": self.request_id,
            "trace_id": "",
            "expires_at": 0,
            "confirmed_at": None,
            "canceled_at": None,
            "auto_confirmed": False,
            "elapsed_time_ms": self.req.elapsed_time_ms or None,
            "created_at": stamp,
            "updated_at": stamp,
        }
        row.update(fields)
        return row

    async def _insert(self, row: dict[str, Any], held: int) -> dict[str, Any]:
        """Store the new transaction; if that fails, give back what was held for it."""
        try:
            async with self.state.db.main.begin() as conn:
                result = await conn.execute(insert(token_transactions).values(**row))
        except IntegrityError:
            self._refund_hold(held)
            raise ConsumeError(f"transaction {row['transaction_id']} already exists") from None
        except Exception:
            self._refund_hold(held)
            raise
        row["id"] = int(result.inserted_primary_key[0])  # type: ignore[index]
        return row

    def _refund_hold(self, held: int) -> None:
        token_id, user_id = self.identity.token.id, self.identity.user.id
        self.ledger.move(user_id, token_id, -held, limited=self.limited, now=now_s())

    async def _pending(self, phase: str) -> dict[str, Any]:
        tid = (self.req.transaction_id or "").strip()
        if not tid:
            raise ConsumeError(f"transaction_id is required for {phase} phase")
        stmt = select(token_transactions).where(
            token_transactions.c.token_id == self.identity.token.id,
            token_transactions.c.transaction_id == tid,
        )
        async with self.state.db.main.connect() as conn:
            found = (await conn.execute(stmt)).mappings().first()
        if found is None:
            raise ConsumeError(f"transaction {tid} not found")
        txn = dict(found)
        _still_pending(txn, phase)
        return txn

    async def _settle(self, txn: dict[str, Any], values: dict[str, Any], phase: str) -> None:
        """Move the hold out of pending, or explain who got there first."""
        if await _leave_pending(self.state, txn, values):
            return
        async with self.state.db.main.connect() as conn:
            status = (
                await conn.execute(
                    select(token_transactions.c.status).where(token_transactions.c.id == txn["id"])
                )
            ).scalar_one()
        _still_pending({**txn, "status": status}, phase)


def _still_pending(txn: dict[str, Any], phase: str) -> None:
    status = int(txn["status"] or 0)
    if status == PENDING:
        return
    name = STATUS_NAMES.get(status, "unknown")
    if phase == "cancel":
        raise ConsumeError(f"transaction {txn['transaction_id']} cannot be canceled because it is {name}")
    raise ConsumeError(f"transaction {txn['transaction_id']} is already {name}")


async def _leave_pending(state: AppState, txn: dict[str, Any], values: dict[str, Any]) -> bool:
    """Apply `values` to the transaction if it is still pending; False if another call settled it."""
    values = {**values, "updated_at": now_ms()}
    stmt = (
        update(token_transactions)
        .where(token_transactions.c.id == txn["id"], token_transactions.c.status == PENDING)
        .values(**values)
    )
    async with state.db.main.begin() as conn:
        result = await conn.execute(stmt)
    if result.rowcount != 1:
        return False
    txn.update(values)
    return True


def _charged(state: AppState, identity: Identity, txn: dict[str, Any], content: str, request_id: str) -> None:
    """A settled transaction: the user's used quota and request count, and a consume log row."""
    rt = state.relay
    quota = int(txn["final_quota"] or 0)
    rt.ledger.record_use(identity.user.id, 0, quota)
    if state.options.get_bool("LogConsumeEnabled"):
        model = (txn["reason"] or "")[:LOG_MODEL_LENGTH]
        settlement = Settlement(
            quota=quota,
            usage=Usage(prompt_tokens=0, completion_tokens=0),
            price=Price(model_ratio=0.0),
            group_ratio=1.0,
            model=model,
            origin_model=model,
            channel_id=0,
            is_stream=False,
            elapsed_ms=int(txn["elapsed_time_ms"] or 0),
            request_id=request_id,
        )
        row = consume_log_row(identity, settlement, now_s())
        row["content"] = content
        rt.ledger.add_log(row)
    rt.writer.notify()


def _quota_text(state: AppState, quota: int) -> str:
    """Quota as One API writes it in log text: dollars, or points when currency display is off."""
    if state.options.get_bool("DisplayInCurrencyEnabled"):
        per_unit = state.options.get_float("QuotaPerUnit") or 500000.0
        return f"＄{quota / per_unit:.6f} quota"
    return f"{quota} point quota"
