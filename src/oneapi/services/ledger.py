"""The quota ledger: this process's view of user and token balances, and the writes still owed.

Relay requests check and move quota here, in memory, with no await between check and debit, so
concurrent requests in one process can never overspend. Every debit is also recorded as a pending
delta; the billing writer turns pending deltas (and queued log rows) into batched SQL. A failed
flush puts its batch back, so nothing is lost.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class UserDelta:
    quota: int = 0  # added to users.quota (negative = debit)
    used_quota: int = 0
    request_count: int = 0


@dataclass
class TokenDelta:
    remain_quota: int = 0  # added to tokens.remain_quota (negative = debit)
    used_quota: int = 0
    accessed_time: int = 0


@dataclass
class Batch:
    """Writes owed to the database, taken out of the ledger by one flush."""

    users: dict[int, UserDelta] = field(default_factory=dict)
    tokens: dict[int, TokenDelta] = field(default_factory=dict)
    channels: dict[int, int] = field(default_factory=dict)  # channel id → used_quota to add
    logs: list[dict[str, Any]] = field(default_factory=list)
    costs: dict[str, dict[str, Any]] = field(default_factory=dict)  # request id → cost row

    def empty(self) -> bool:
        return not (self.users or self.tokens or self.channels or self.logs or self.costs)


class QuotaLedger:
    """Balances known to this process plus the deltas not yet written."""

    def __init__(self) -> None:
        self.user_balance: dict[int, int] = {}
        self.token_balance: dict[int, int] = {}
        self._pending = Batch()
        self._in_flight: Batch | None = None

    # balances --------------------------------------------------------------------------------
    def unwritten_user_delta(self, user_id: int) -> int:
        """Quota moved for the user in this process that the database does not show yet."""
        total = 0
        for batch in (self._pending, self._in_flight):
            if batch and user_id in batch.users:
                total += batch.users[user_id].quota
        return total

    def unwritten_token_delta(self, token_id: int) -> int:
        total = 0
        for batch in (self._pending, self._in_flight):
            if batch and token_id in batch.tokens:
                total += batch.tokens[token_id].remain_quota
        return total

    def unwritten_user(self, user_id: int) -> UserDelta:
        """Every change to the user's row made here that the database does not show yet."""
        total = UserDelta()
        for batch in (self._pending, self._in_flight):
            if batch and user_id in batch.users:
                d = batch.users[user_id]
                total.quota += d.quota
                total.used_quota += d.used_quota
                total.request_count += d.request_count
        return total

    def unwritten_token(self, token_id: int) -> TokenDelta:
        """Every change to the token's row made here that the database does not show yet."""
        total = TokenDelta()
        for batch in (self._pending, self._in_flight):
            if batch and token_id in batch.tokens:
                d = batch.tokens[token_id]
                total.remain_quota += d.remain_quota
                total.used_quota += d.used_quota
                total.accessed_time = max(total.accessed_time, d.accessed_time)
        return total

    def load_user(self, user_id: int, db_quota: int) -> None:
        """Adopt a freshly read database balance, keeping the debits it cannot show yet."""
        self.user_balance[user_id] = db_quota + self.unwritten_user_delta(user_id)

    def load_token(self, token_id: int, db_remain: int) -> None:
        self.token_balance[token_id] = db_remain + self.unwritten_token_delta(token_id)

    # movements -------------------------------------------------------------------------------
    def move(self, user_id: int, token_id: int, amount: int, *, limited: bool, now: int) -> None:
        """Debit `amount` (negative = refund) from the user and, if limited, the token's remainder."""
        if amount == 0:
            return
        self.user_balance[user_id] = self.user_balance.get(user_id, 0) - amount
        user = self._pending.users.setdefault(user_id, UserDelta())
        user.quota -= amount
        token = self._pending.tokens.setdefault(token_id, TokenDelta())
        token.used_quota += amount
        token.accessed_time = now
        if limited:
            self.token_balance[token_id] = self.token_balance.get(token_id, 0) - amount
            token.remain_quota -= amount

    def record_use(self, user_id: int, channel_id: int, quota: int) -> None:
        """A settled request: the user's used quota and request count, the channel's used quota."""
        user = self._pending.users.setdefault(user_id, UserDelta())
        user.used_quota += quota
        user.request_count += 1
        if channel_id:
            self._pending.channels[channel_id] = self._pending.channels.get(channel_id, 0) + quota

    def add_log(self, row: dict[str, Any]) -> None:
        self._pending.logs.append(row)

    def set_cost(self, request_id: str, row: dict[str, Any]) -> None:
        self._pending.costs[request_id] = row

    # flushing --------------------------------------------------------------------------------
    def take(self) -> Batch | None:
        """Hand the pending writes to a flush; None if there is nothing to write."""
        if self._pending.empty() or self._in_flight is not None:
            return None
        self._in_flight, self._pending = self._pending, Batch()
        return self._in_flight

    def done(self) -> None:
        """The in-flight batch is committed."""
        self._in_flight = None

    def failed(self) -> None:
        """The in-flight batch was not written: fold it back in front of newer writes."""
        batch, self._in_flight = self._in_flight, None
        if batch is None:
            return
        newer, self._pending = self._pending, batch
        for uid, d in newer.users.items():
            u = self._pending.users.setdefault(uid, UserDelta())
            u.quota += d.quota
            u.used_quota += d.used_quota
            u.request_count += d.request_count
        for tid, t in newer.tokens.items():
            tok = self._pending.tokens.setdefault(tid, TokenDelta())
            tok.remain_quota += t.remain_quota
            tok.used_quota += t.used_quota
            tok.accessed_time = max(tok.accessed_time, t.accessed_time)
        merged: dict[int, int] = defaultdict(int, self._pending.channels)
        for cid, q in newer.channels.items():
            merged[cid] += q
        self._pending.channels = dict(merged)
        self._pending.logs.extend(newer.logs)
        self._pending.costs.update(newer.costs)

    @property
    def has_pending(self) -> bool:
        return not self._pending.empty()
