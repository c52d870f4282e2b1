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

    def add(self, other: UserDelta) -> None:
        self.quota += other.quota
        self.used_quota += other.used_quota
        self.request_count += other.request_count


@dataclass
class TokenDelta:
    remain_quota: int = 0  # added to tokens.remain_quota (negative = debit)
    used_quota: int = 0
    accessed_time: int = 0

    def add(self, other: TokenDelta) -> None:
        self.remain_quota += other.remain_quota
        self.used_quota += other.used_quota
        self.accessed_time = max(self.accessed_time, other.accessed_time)


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
    def unwritten_user(self, user_id: int) -> UserDelta:
        """Every change to the user's row made here that the database does not show yet."""
        total = UserDelta()
        for batch in (self._pending, self._in_flight):
            if batch and user_id in batch.users:
                total.add(batch.users[user_id])
        return total

    def unwritten_token(self, token_id: int) -> TokenDelta:
        """Every change to the token's row made here that the database does not show yet."""
        total = TokenDelta()
        for batch in (self._pending, self._in_flight):
            if batch and token_id in batch.tokens:
                total.add(batch.tokens[token_id])
        return total

    def load_user(self, user_id: int, db_quota: int) -> None:
        """Adopt a freshly read database balance, keeping the debits it cannot show yet."""
        self.user_balance[user_id] = db_quota + self.unwritten_user(user_id).quota

    def load_token(self, token_id: int, db_remain: int) -> None:
        self.token_balance[token_id] = db_remain + self.unwritten_token(token_id).remain_quota

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
        for uid, user in newer.users.items():
            self._pending.users.setdefault(uid, UserDelta()).add(user)
        for tid, token in newer.tokens.items():
            self._pending.tokens.setdefault(tid, TokenDelta()).add(token)
        merged: dict[int, int] = defaultdict(int, self._pending.channels)
        for cid, q in newer.channels.items():
            merged[cid] += q
        self._pending.channels = dict(merged)
        self._pending.logs.extend(newer.logs)
        self._pending.costs.update(newer.costs)

    @property
    def has_pending(self) -> bool:
        return not self._pending.empty()
