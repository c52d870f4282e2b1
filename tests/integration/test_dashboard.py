"""GET /api/user/dashboard over HTTP: per UTC day and model, from the daily roll-up, equal to the
sums of the raw consume rows whoever wrote them, with One API's user and root rules (SPEC §10.2)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.log_rows import insert_logs
from tests.support.relay import RelaySetup
from tests.support.rows import insert_user
from tests.support.server import LiveServer

DAY = 86400
SUMS = ("RequestCount", "Quota", "PromptTokens", "CompletionTokens", "CachedPromptTokens")


def today() -> int:
    now = int(time.time())
    return now - now % DAY


def day_text(midnight: int) -> str:
    return datetime.fromtimestamp(midnight, UTC).strftime("%Y-%m-%d")


def expected_from_raw(db: sa.Engine, user_id: int | None, first: int, last: int) -> list[dict[str, Any]]:
    """What the dashboard must say, computed in Python from every raw consume row."""
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 5)
    with db.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT user_id, created_at, model_name, quota, prompt_tokens, completion_tokens, "
                "cached_prompt_tokens FROM logs WHERE type = 2"
            )
        ).all()
    for uid, created, model, quota, prompt, completion, cached in rows:
        midnight = created - created % DAY
        if (user_id is not None and uid != user_id) or not first <= midnight <= last:
            continue
        t = totals[(day_text(midnight), model)]
        for i, value in enumerate((1, quota, prompt, completion, cached)):
            t[i] += value
    return [
        {"Day": day, "ModelName": model, **dict(zip(SUMS, totals[(day, model)], strict=True))}
        for day, model in sorted(totals)
    ]


def user_id(api: Api) -> int:
    return int(api.get("/api/user/self")["data"]["id"])


@pytest.fixture
def people(root: Api, make_user: Callable[..., Api]) -> dict[str, Any]:
    alice, bob = make_user("alice"), make_user("bob")
    return {"alice": alice, "bob": bob, "alice_id": user_id(alice), "bob_id": user_id(bob)}


@pytest.fixture
def history(db: sa.Engine, people: dict[str, Any]) -> None:
    """Rows One API would have written over the last ten days: two users, three models, other types."""
    rows = []
    for back in range(10):
        for n in range(4):
            owner = ("alice", "bob")[n % 2]
            rows.append(
                {
                    "user_id": people[f"{owner}_id"],
                    "username": owner,
                    "created_at": today() - back * DAY + 3600 * n + 7,
                    "type": 2 if n < 3 else (1, 6)[back % 2],
                    "model_name": ("gpt-4o-mini", "gpt-4o", "claude-3-haiku")[(back + n) % 3],
                    "quota": 1000 * back + 10 * n + 1,
                    "prompt_tokens": 100 + back,
                    "completion_tokens": 50 + n,
                    "cached_prompt_tokens": n,
                }
            )
    insert_logs(db, *rows)


def dashboard(api: Api, **params: Any) -> Any:
    body = api.get("/api/user/dashboard", params=params)
    assert body["success"], body
    return body["data"]


def test_users_see_their_last_seven_days(people: dict[str, Any], history: None, db: sa.Engine) -> None:
    first = today() - 6 * DAY
    got = dashboard(people["alice"])
    assert got == expected_from_raw(db, people["alice_id"], first, today())
    assert {entry["Day"] for entry in got} == {day_text(first + i * DAY) for i in range(7)}
    assert dashboard(people["bob"]) == expected_from_raw(db, people["bob_id"], first, today())


def test_date_range_is_inclusive_whole_utc_days(people: dict[str, Any], history: None, db: sa.Engine) -> None:
    first, last = today() - 9 * DAY, today() - 3 * DAY
    got = dashboard(people["alice"], from_date=day_text(first), to_date=day_text(last))
    assert got == expected_from_raw(db, people["alice_id"], first, last)
    assert got[0]["Day"] == day_text(first) and got[-1]["Day"] == day_text(last)
    one = dashboard(people["bob"], from_date=day_text(last), to_date=day_text(last))
    assert one == expected_from_raw(db, people["bob_id"], last, last)


def test_root_sees_everyone_or_one_user(
    root: Api, people: dict[str, Any], history: None, db: sa.Engine
) -> None:
    first = today() - 9 * DAY
    window = {"from_date": day_text(first), "to_date": day_text(today())}
    everyone = expected_from_raw(db, None, first, today())
    assert dashboard(root, **window) == everyone
    assert dashboard(root, user_id="all", **window) == everyone
    assert dashboard(root, user_id=people["bob_id"], **window) == expected_from_raw(
        db, people["bob_id"], first, today()
    )
    assert dashboard(root, user_id=1) == []  # root's own rows: none


def test_range_and_user_rules(root: Api, people: dict[str, Any]) -> None:
    alice = people["alice"]

    def refused(api: Api, message: str, **params: Any) -> None:
        assert api.get("/api/user/dashboard", params=params) == {"success": False, "message": message}

    d = datetime.now(UTC).date()
    span = {"from_date": str(d - timedelta(days=7)), "to_date": str(d)}  # 8 days
    refused(alice, "maximum allowed: 7 days: date range too large", **span)
    assert dashboard(alice, from_date=str(d - timedelta(days=6)), to_date=str(d)) == []
    assert dashboard(root, **span) == []
    assert dashboard(root, from_date=str(d - timedelta(days=364)), to_date=str(d)) == []
    refused(
        root,
        "maximum allowed: 365 days: date range too large",
        from_date=str(d - timedelta(days=365)),
        to_date=str(d),
    )
    refused(alice, "from_date must be before to_date", from_date=str(d), to_date=str(d - timedelta(days=1)))
    refused(alice, "invalid from_date format, expected YYYY-MM-DD", from_date="yesterday", to_date=str(d))
    refused(alice, "invalid to_date format, expected YYYY-MM-DD", from_date=str(d), to_date="2024-13-01")
    assert dashboard(alice, from_date="2000-01-01") == []  # one date alone: the default week
    refused(alice, "No permission to view other users' dashboard data", user_id=people["bob_id"])
    refused(alice, "No permission to view other users' dashboard data", user_id="all")
    refused(root, "Invalid user_id parameter", user_id="bob")
    refused(root, "Invalid user_id parameter", user_id=999_999)


def test_deleting_old_logs_keeps_the_dashboard(root: Api, people: dict[str, Any], history: None) -> None:
    before = dashboard(people["alice"])
    assert before
    assert root.delete("/api/log/", params={"target_timestamp": today() + DAY})["data"] == 40
    assert dashboard(people["alice"]) == before


# --- rows written by the relay, and rows other programs write --------------------------------


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def test_relay_rows_are_counted_once_beside_rows_others_write(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, upstream: FakeOpenAI
) -> None:
    relay = RelaySetup(server=server, root=root, user=make_user("dora", quota=10_000_000), key="", db=db)
    relay.key = relay.make_key()
    relay.add_channel(upstream)
    dora = user_id(relay.user)
    for _ in range(3):
        relay.client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    relay.wait_flushed(3)
    # the writer counted its rows in the roll-up as it inserted them
    assert relay.scalar("SELECT COUNT(*) FROM logs WHERE rolled_up IS NULL OR rolled_up <> 1") == 0
    assert relay.scalar("SELECT request_count FROM log_daily_stats WHERE user_id = :u", u=dora) == 3
    assert relay.scalar("SELECT request_count FROM log_daily_stats WHERE user_id = 0") == 3  # site-wide
    entry = {"Day": day_text(today()), "ModelName": "gpt-4o-mini", "RequestCount": 3, "Quota": 9}
    entry.update(PromptTokens=33, CompletionTokens=21, CachedPromptTokens=0)
    assert dashboard(relay.user) == [entry]
    # another program (One API beside us) writes a row: counted at the next look, once
    insert_logs(db, {"user_id": dora, "username": "dora", "created_at": int(time.time()), "quota": 100})
    entry.update(RequestCount=4, Quota=109)
    assert dashboard(relay.user) == [entry]
    assert dashboard(relay.user) == [entry]
    relay.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    relay.wait_flushed(5)
    entry.update(RequestCount=5, Quota=112, PromptTokens=44, CompletionTokens=28)
    assert dashboard(relay.user) == [entry]
    assert dashboard(root, user_id=dora) == expected_from_raw(db, dora, today() - 6 * DAY, today())


def test_upgrade_rolls_up_the_history_already_there(
    make_server: Callable[..., LiveServer], db: sa.Engine
) -> None:
    make_server().stop()  # a database at the previous revision, holding One API's rows
    uid = insert_user(db, "erin", "password123")
    insert_logs(
        db,
        *(
            {"user_id": uid, "username": "erin", "created_at": today() - (i % 3) * DAY + i, "quota": i}
            for i in range(1, 31)
        ),
    )
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0002'"))
        conn.execute(sa.text("DROP TABLE log_daily_stats"))
    make_server()
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM logs WHERE rolled_up = 1")).scalar() == 30
        for who in (uid, 0):  # erin's totals, and the site's
            totals = "SELECT SUM(request_count), SUM(quota) FROM log_daily_stats WHERE user_id = :u"
            assert conn.execute(sa.text(totals), {"u": who}).one() == (30, 465)


def test_dashboard_with_logs_in_their_own_database(
    make_server: Callable[..., LiveServer], db: sa.Engine, tmp_path: Path
) -> None:
    log_file = tmp_path / "logs.db"
    server = make_server(LOG_SQL_DSN=f"sqlite:///{log_file}")
    uid = insert_user(db, "finn", "password123")
    logs_db = sa.create_engine(f"sqlite:///{log_file}")
    insert_logs(logs_db, {"user_id": uid, "username": "finn", "created_at": int(time.time()), "quota": 42})
    finn = Api(server.url)
    finn.login("finn", "password123")
    assert [(e["RequestCount"], e["Quota"]) for e in dashboard(finn)] == [(1, 42)]
    assert finn.get("/api/log/self")["data"][0]["quota"] == 42
    assert "log_daily_stats" not in sa.inspect(db).get_table_names()
    finn.close()
    logs_db.dispose()
