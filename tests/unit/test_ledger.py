"""The quota ledger: balances move at once, writes owed survive a failed flush in order."""

from __future__ import annotations

from oneapi.services.ledger import QuotaLedger


def test_move_debits_user_and_limited_token() -> None:
    ledger = QuotaLedger()
    ledger.load_user(1, 1000)
    ledger.load_token(7, 100)
    ledger.move(1, 7, 30, limited=True, now=5)
    assert ledger.user_balance[1] == 970 and ledger.token_balance[7] == 70
    ledger.move(1, 7, -10, limited=True, now=6)
    assert ledger.user_balance[1] == 980 and ledger.token_balance[7] == 80


def test_unlimited_token_keeps_its_remainder_but_records_use() -> None:
    ledger = QuotaLedger()
    ledger.load_user(1, 1000)
    ledger.load_token(7, 0)
    ledger.move(1, 7, 30, limited=False, now=5)
    batch = ledger.take()
    assert batch is not None
    assert ledger.token_balance[7] == 0
    assert batch.tokens[7].remain_quota == 0 and batch.tokens[7].used_quota == 30
    assert batch.users[1].quota == -30


def test_reload_keeps_unwritten_and_in_flight_debits() -> None:
    ledger = QuotaLedger()
    ledger.load_user(1, 1000)
    ledger.move(1, 7, 100, limited=False, now=1)
    assert ledger.take() is not None  # in flight, not yet committed
    ledger.move(1, 7, 50, limited=False, now=2)  # pending
    ledger.load_user(1, 1000)  # the database does not show either yet
    assert ledger.user_balance[1] == 850
    ledger.done()
    ledger.load_user(1, 900)  # the first batch landed
    assert ledger.user_balance[1] == 850


def test_failed_flush_folds_back_in_front_of_newer_writes() -> None:
    ledger = QuotaLedger()
    ledger.move(1, 7, 10, limited=True, now=1)
    ledger.record_use(1, 3, 10)
    ledger.add_log({"n": 1})
    assert ledger.take() is not None
    ledger.move(1, 7, 5, limited=True, now=9)
    ledger.record_use(1, 3, 5)
    ledger.add_log({"n": 2})
    ledger.failed()
    batch = ledger.take()
    assert batch is not None
    assert batch.users[1].quota == -15 and batch.users[1].used_quota == 15
    assert batch.users[1].request_count == 2
    assert batch.tokens[7].remain_quota == -15 and batch.tokens[7].accessed_time == 9
    assert batch.channels == {3: 15}
    assert [row["n"] for row in batch.logs] == [1, 2]


def test_one_flush_at_a_time() -> None:
    ledger = QuotaLedger()
    ledger.move(1, 7, 10, limited=True, now=1)
    assert ledger.take() is not None
    ledger.move(1, 7, 10, limited=True, now=1)
    assert ledger.take() is None  # the first batch is still in flight
    ledger.done()
    assert ledger.take() is not None
