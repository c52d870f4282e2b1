"""Log routes over HTTP: admin lists, filters, pages, sorting, search, self-only views, quota sums,
history deletion and per-key logs (SPEC §1.3 Logs, §2.5, §0.3)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.log_rows import insert_logs
from tests.support.relay import RelaySetup
from tests.support.server import LiveServer

T0 = 1_700_000_000
DAY = 86400


def user_id(api: Api) -> int:
    return int(api.get("/api/user/self")["data"]["id"])


def ids(body: dict[str, Any]) -> list[int]:
    assert body["success"], body
    return [row["id"] for row in body["data"]]


@pytest.fixture
def people(root: Api, make_user: Callable[..., Api]) -> dict[str, Any]:
    alice, bob = make_user("alice"), make_user("bob")
    return {"alice": alice, "bob": bob, "alice_id": user_id(alice), "bob_id": user_id(bob)}


@pytest.fixture
def seeded(db: sa.Engine, people: dict[str, Any]) -> list[int]:
    """Ten rows of two users over ten days; quota i*10, prompt i, completion 2i (i = 1..10)."""
    rows = []
    for i in range(1, 11):
        owner = "alice" if i % 2 else "bob"
        rows.append(
            {
                "user_id": people[f"{owner}_id"],
                "username": owner,
                "created_at": T0 + i * DAY,
                "type": 2 if i <= 8 else 1,
                "model_name": "gpt-4o" if i % 3 == 0 else "gpt-4o-mini",
                "token_name": "t-even" if i % 2 == 0 else "t-odd",
                "channel_id": 7 if i <= 5 else 9,
                "quota": i * 10,
                "prompt_tokens": i,
                "completion_tokens": 2 * i,
                "elapsed_time": 100 - i,
                "content": f"row number {i}" + (" 100%_done" if i == 4 else ""),
            }
        )
    return insert_logs(db, *rows)


def test_admin_list_is_newest_first_with_total_and_pages(root: Api, seeded: list[int]) -> None:
    first = root.get("/api/log/", params={"p": 0, "size": 4})
    assert first["total"] == 10
    assert ids(first) == seeded[::-1][:4]
    third = root.get("/api/log/", params={"p": 2, "size": 4})
    assert ids(third) == seeded[::-1][8:]
    assert third["total"] == 10
    legacy = root.get("/api/log/", params={"p": 1, "items_per_page": 3})
    assert ids(legacy) == seeded[::-1][3:6]
    default = root.get("/api/log/", params={"p": -5})
    assert ids(default) == seeded[::-1]  # negative page → 0, default size 10


def test_page_size_is_capped(root: Api, db: sa.Engine, people: dict[str, Any]) -> None:
    insert_logs(db, *({"created_at": T0 + i} for i in range(120)))
    body = root.get("/api/log/", params={"size": 1000})
    assert len(body["data"]) == 100 and body["total"] == 120


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type": 1}, [10, 9]),
        ({"type": 0}, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),
        ({"model_name": "gpt-4o"}, [9, 6, 3]),
        ({"username": "alice"}, [9, 7, 5, 3, 1]),
        ({"token_name": "t-even"}, [10, 8, 6, 4, 2]),
        ({"channel": 9}, [10, 9, 8, 7, 6]),
        ({"start_timestamp": T0 + 3 * DAY, "end_timestamp": T0 + 5 * DAY}, [5, 4, 3]),
        ({"start_timestamp": T0 + 8 * DAY}, [10, 9, 8]),
        ({"end_timestamp": T0 + 2 * DAY}, [2, 1]),
        ({"username": "bob", "type": 2, "channel": 7}, [4, 2]),
        ({"username": "nobody"}, []),
        ({"type": "not-a-number"}, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),
    ],
)
def test_admin_filters(root: Api, seeded: list[int], params: dict[str, Any], expected: list[int]) -> None:
    body = root.get("/api/log/", params=params)
    assert ids(body) == [seeded[i - 1] for i in expected]
    assert body["total"] == len(expected)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sort": "quota", "order": "asc"}, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ({"sort": "quota"}, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),
        ({"sort": "elapsed_time", "order": "desc"}, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ({"sort_by": "created_time", "sort_order": "asc"}, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ({"sort": "completion_tokens", "order": "asc", "type": 1}, [9, 10]),
        ({"sort": "id", "order": "asc"}, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ({"sort": "content", "order": "asc"}, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),  # not whitelisted
    ],
)
def test_admin_sorting(root: Api, seeded: list[int], params: dict[str, Any], expected: list[int]) -> None:
    assert ids(root.get("/api/log/", params=params)) == [seeded[i - 1] for i in expected]


def test_sorting_a_range_over_30_days_is_refused(
    root: Api, seeded: list[int], people: dict[str, Any]
) -> None:
    wide = {"sort": "quota", "start_timestamp": T0, "end_timestamp": T0 + 31 * DAY}
    expected = {"success": False, "message": "Date range for sorting cannot exceed 30 days"}
    assert root.get("/api/log/", params=wide) == expected
    assert people["alice"].get("/api/log/self", params=wide) == expected
    assert ids(root.get("/api/log/", params={**wide, "end_timestamp": T0 + 30 * DAY}))
    assert len(ids(root.get("/api/log/", params={**wide, "sort": ""}))) == 10  # no sort: no limit


def test_admin_search_matches_content_with_total(root: Api, seeded: list[int]) -> None:
    body = root.get("/api/log/search", params={"keyword": "number 1", "size": 1})
    assert body["total"] == 2  # "row number 1" and "row number 10"
    assert ids(body) == [seeded[9]]
    literal = root.get("/api/log/search", params={"keyword": "100%_"})
    assert ids(literal) == [seeded[3]]  # % and _ are matched literally
    assert root.get("/api/log/search", params={"keyword": "nothing like it"}) == {
        "success": True,
        "message": "",
        "data": [],
        "total": 0,
    }
    by_quota = root.get("/api/log/search", params={"keyword": "row", "sort": "quota", "order": "asc"})
    assert ids(by_quota) == seeded


def test_users_see_only_their_own_rows(people: dict[str, Any], seeded: list[int]) -> None:
    alice, bob = people["alice"], people["bob"]
    mine = alice.get("/api/log/self")
    assert ids(mine) == [seeded[i - 1] for i in (9, 7, 5, 3, 1)]
    assert {row["username"] for row in mine["data"]} == {"alice"}
    # asking for bob's rows by name changes nothing: the user is always the caller
    assert ids(alice.get("/api/log/self", params={"username": "bob"})) == ids(mine)
    assert ids(alice.get("/api/log/self", params={"token_name": "t-even"})) == []
    assert ids(alice.get("/api/log/self", params={"type": 1})) == [seeded[8]]
    assert ids(bob.get("/api/log/self", params={"sort": "quota", "order": "asc", "size": 2})) == [
        seeded[1],
        seeded[3],
    ]
    found = alice.get("/api/log/self/search", params={"keyword": "number"})
    assert found["total"] == 5 and ids(found) == ids(mine)
    assert alice.get("/api/log/self/search", params={"keyword": "number 4"})["data"] == []


def test_plain_users_cannot_use_admin_routes(people: dict[str, Any], anon: Api) -> None:
    alice = people["alice"]
    for method, path in (
        ("get", "/api/log/"),
        ("get", "/api/log/search"),
        ("get", "/api/log/stat"),
        ("delete", "/api/log/?target_timestamp=1"),
    ):
        response = alice.http.request(method.upper(), path)
        assert response.status_code == 403 and response.json()["success"] is False
    for path in ("/api/log/", "/api/log/self", "/api/log/self/stat", "/api/user/dashboard"):
        assert anon.http.get(path).status_code == 401


def test_stat_sums_consume_rows_for_the_same_filters(
    root: Api, people: dict[str, Any], seeded: list[int], db: sa.Engine
) -> None:
    insert_logs(db, {"type": 6, "quota": 5000, "user_id": people["alice_id"], "username": "alice"})
    # consume rows are 1..8: quota i*10
    assert root.get("/api/log/stat")["data"] == {"quota": 360}
    assert root.get("/api/log/stat", params={"type": 1})["data"] == {"quota": 360}  # type ignored
    assert root.get("/api/log/stat", params={"username": "alice"})["data"] == {"quota": 160}
    assert root.get("/api/log/stat", params={"model_name": "gpt-4o", "channel": 7})["data"] == {"quota": 30}
    window = {"start_timestamp": T0 + 2 * DAY, "end_timestamp": T0 + 4 * DAY, "token_name": "t-even"}
    assert root.get("/api/log/stat", params=window)["data"] == {"quota": 60}
    assert root.get("/api/log/stat", params={"username": "nobody"})["data"] == {"quota": 0}
    assert people["alice"].get("/api/log/self/stat")["data"] == {"quota": 160}
    assert people["bob"].get("/api/log/self/stat", params={"username": "alice"})["data"] == {"quota": 200}
    assert people["bob"].get("/api/log/self/stat", params={"model_name": "gpt-4o"})["data"] == {"quota": 60}


def test_provisional_rows_are_never_listed(root: Api, db: sa.Engine, people: dict[str, Any]) -> None:
    shown, _hidden = insert_logs(db, {"type": 2}, {"type": 6})
    assert ids(root.get("/api/log/")) == [shown]
    assert ids(root.get("/api/log/search", params={"keyword": "model rate"})) == [shown]


def test_delete_history_before_a_timestamp(root: Api, seeded: list[int], db: sa.Engine) -> None:
    required = {"success": False, "message": "target timestamp is required"}
    assert root.delete("/api/log/") == required
    assert root.delete("/api/log/", params={"target_timestamp": 0}) == required
    assert root.delete("/api/log/", params={"target_timestamp": "soon"}) == required
    gone = root.delete("/api/log/", params={"target_timestamp": T0 + 4 * DAY})
    assert gone == {"success": True, "message": "", "data": 3}
    assert ids(root.get("/api/log/")) == seeded[3:][::-1]
    assert root.delete("/api/log/", params={"target_timestamp": T0 + 4 * DAY})["data"] == 0
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM logs")).scalar() == 7


def test_log_dto_fields_and_channel_names(root: Api, db: sa.Engine, people: dict[str, Any]) -> None:
    created = root.post(
        "/api/channel/", json={"name": "alpha", "type": 1, "key": "k", "models": "gpt-4o", "group": "default"}
    )
    assert created["success"], created
    channel_id = root.get("/api/channel/search", params={"keyword": "alpha"})["data"][0]["id"]
    plain, rich = insert_logs(
        db,
        {"channel_id": channel_id, "metadata": None, "request_id": "r1", "is_stream": True},
        {"channel_id": 4242, "metadata": '{"user_api_format": "chat"}', "cached_prompt_tokens": 3},
    )
    rows = {row["id"]: row for row in root.get("/api/log/")["data"]}
    assert rows[plain] == {
        "id": plain,
        "user_id": 1,
        "created_at": T0,
        "type": 2,
        "content": "model rate 1.00, group rate 1.00, completion rate 1.00",
        "username": "root",
        "token_name": "default",
        "model_name": "gpt-4o-mini",
        "origin_model_name": "",
        "quota": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cached_prompt_tokens": 0,
        "channel": channel_id,
        "channel_id": channel_id,
        "channel_name": "alpha",
        "request_id": "r1",
        "trace_id": "",
        "elapsed_time": 0,
        "is_stream": True,
        "system_prompt_reset": False,
    }
    assert "metadata" not in rows[plain]
    assert rows[rich]["metadata"] == {"user_api_format": "chat"}
    assert rows[rich]["channel_name"] == ""  # a deleted channel
    assert rows[rich]["cached_prompt_tokens"] == 3


# --- /api/token/logs: rows written by the relay, read with the relay key ------------------------


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def test_token_logs_show_the_keys_own_rows(
    server: LiveServer, root: Api, make_user: Callable[..., Api], db: sa.Engine, upstream: FakeOpenAI
) -> None:
    relay = RelaySetup(server=server, root=root, user=make_user("carol", quota=10_000_000), key="", db=db)
    relay.add_channel(upstream)
    first, second = relay.make_key(name="first"), relay.make_key(name="second")
    for key, times in ((first, 3), (second, 2)):
        for _ in range(times):
            relay.client(key).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
    relay.wait_flushed(5)
    carol = user_id(relay.user)
    # a row One API wrote for the same key name (no token_id) and one for another user's key name
    older, _other = insert_logs(
        db,
        {"user_id": carol, "username": "carol", "token_name": "first", "created_at": T0},
        {"user_id": 1, "username": "root", "token_name": "first", "created_at": T0},
    )
    headers = {"Authorization": f"Bearer {first}"}
    body = relay.user.http.get("/api/token/logs", headers=headers).json()
    assert body["success"] and body["total"] == 4
    assert {row["token_name"] for row in body["data"]} == {"first"}
    assert {row["user_id"] for row in body["data"]} == {carol}
    assert body["data"][0]["id"] == older  # id order: the seeded row came last
    assert [row["quota"] for row in body["data"][1:]] == [3, 3, 3]
    paged = relay.user.http.get("/api/token/logs", headers=headers, params={"size": 2, "p": 1}).json()
    assert len(paged["data"]) == 2 and paged["total"] == 4
    other = relay.user.http.get("/api/token/logs", headers={"Authorization": f"Bearer {second}"}).json()
    assert other["total"] == 2 and {row["token_name"] for row in other["data"]} == {"second"}
    windowed = relay.user.http.get(
        "/api/token/logs", headers=headers, params={"start_timestamp": T0 + 1, "model_name": "gpt-4o-mini"}
    ).json()
    assert windowed["total"] == 3
    bad = relay.user.http.get("/api/token/logs", headers={"Authorization": "Bearer sk-nope"})
    assert bad.status_code == 401 and "error" in bad.json()
    # the relay's own rows are listed for the admin too, newest first, with the channel name
    admin = root.get("/api/log/", params={"token_name": "second"})
    assert admin["total"] == 2 and admin["data"][0]["channel_name"] == "fake"
