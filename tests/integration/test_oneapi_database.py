"""The compatibility proof: open a database One API itself laid out and filled, lose nothing.

Each test builds the database with plain SQL (One API's DDL from tests.support.oneapi_schema and
rows as One API writes them, bcrypt `$2a$` hashes included), then starts our app on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import bcrypt
import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.oneapi_schema import create_one_api_schema
from tests.support.rows import quoted
from tests.support.server import LiveServer

ROOT_PASSWORD = "Root-Pass-2024"
ALICE_PASSWORD = "alice-pass-99"
UNLIMITED_KEY = "AbCdEfGhIjKlMnOp0123456789aBcDeF0123456789AbCdEf"
LIMITED_KEY = "ZyXwVuTsRqPoNmLk9876543210fEdCbA9876543210FeDcBa"
ROOT_KEY = "RootRootRootRoot0123456789aBcDeF0123456789AbCdEf"
OPENAI_SECRET = "sk-upstream-openai-secret-value"
CLAUDE_SECRET = "sk-ant-upstream-secret-value"
NOW = 1_735_689_600  # 2025-01-01, seconds


def one_api_hash(password: str) -> str:
    """A hash exactly as One API's Go bcrypt writes it: `$2a$`, cost 10."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(10, prefix=b"2a")).decode()


def _insert(conn: sa.Connection, table: str, row: dict[str, Any]) -> None:
    names = ",".join(quoted(conn.engine, c) for c in row)
    values = ",".join(f":{c}" for c in row)
    conn.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({values})"), row)


def _id_of(conn: sa.Connection, table: str, column: str, value: str) -> int:
    return int(
        conn.execute(
            sa.text(f"SELECT id FROM {table} WHERE {quoted(conn.engine, column)} = :v"), {"v": value}
        ).scalar_one()
    )


def _user(
    name: str, password: str, role: int, quota: int, group: str, aff: str, inviter: int
) -> dict[str, Any]:
    return {
        "username": name,
        "password": one_api_hash(password),
        "display_name": name.title(),
        "role": role,
        "status": 1,
        "email": f"{name}@example.com",
        "github_id": "",
        "wechat_id": "",
        "lark_id": "",
        "oidc_id": "",
        "access_token": (name * 32)[:32],
        "quota": quota,
        "used_quota": 1234,
        "request_count": 7,
        "group": group,
        "aff_code": aff,
        "inviter_id": inviter,
    }


def _token(user_id: int, key: str, name: str, **fields: Any) -> dict[str, Any]:
    row = {
        "user_id": user_id,
        "key": key,
        "status": 1,
        "name": name,
        "created_time": NOW,
        "accessed_time": NOW + 60,
        "expired_time": -1,
        "remain_quota": 0,
        "unlimited_quota": False,
        "used_quota": 0,
        "models": None,
        "subnet": "",
    }
    return {**row, **fields}


def _channel(kind: int, key: str, name: str, models: str, group: str, **fields: Any) -> dict[str, Any]:
    row = {
        "type": kind,
        "key": key,
        "status": 1,
        "name": name,
        "weight": 0,
        "created_time": NOW,
        "test_time": NOW + 5,
        "response_time": 321,
        "base_url": "",
        "other": "",
        "balance": 12.5,
        "balance_updated_time": NOW + 10,
        "models": models,
        "group": group,
        "used_quota": 777,
        "model_mapping": "",
        "priority": 0,
        "config": "{}",
        "system_prompt": None,
    }
    return {**row, **fields}


def _abilities(conn: sa.Connection, channel_id: int, channel: dict[str, Any]) -> None:
    for group in channel["group"].split(","):
        for model in channel["models"].split(","):
            _insert(
                conn,
                "abilities",
                {
                    "group": group,
                    "model": model,
                    "channel_id": channel_id,
                    "enabled": channel["status"] == 1,
                    "priority": channel["priority"],
                },
            )


def _log(user_id: int, username: str, kind: int, content: str, **fields: Any) -> dict[str, Any]:
    row = {
        "user_id": user_id,
        "created_at": NOW + 100,
        "type": kind,
        "content": content,
        "username": username,
        "token_name": "",
        "model_name": "",
        "quota": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "channel_id": 0,
        "request_id": "",
        "elapsed_time": 0,
        "is_stream": False,
        "system_prompt_reset": False,
    }
    return {**row, **fields}


@dataclass(frozen=True)
class Seeded:
    root_id: int
    alice_id: int
    openai_id: int
    claude_id: int


def seed_one_api_database(db: sa.Engine) -> Seeded:
    """Tables and rows of a One API installation that has been in use for a while."""
    create_one_api_schema(db)
    with db.begin() as conn:
        _insert(conn, "users", _user("root", ROOT_PASSWORD, 100, 500_000_000_000_000, "default", "r00t", 0))
        root_id = _id_of(conn, "users", "username", "root")
        _insert(conn, "users", _user("alice", ALICE_PASSWORD, 1, 900_000, "vip", "al1c", root_id))
        alice_id = _id_of(conn, "users", "username", "alice")
        _insert(
            conn, "tokens", _token(alice_id, UNLIMITED_KEY, "unlimited", unlimited_quota=True, used_quota=100)
        )
        limited = _token(
            alice_id,
            LIMITED_KEY,
            "limited",
            expired_time=4_102_444_800,
            remain_quota=50_000,
            used_quota=2_500,
            models="gpt-4o-mini,claude-3-5-haiku-20241022",
            subnet="10.0.0.0/8,192.168.1.0/24",
        )
        _insert(conn, "tokens", limited)
        _insert(conn, "tokens", _token(root_id, ROOT_KEY, "root-key", unlimited_quota=True))
        openai = _channel(
            1,
            OPENAI_SECRET,
            "openai-main",
            "gpt-4o-mini,gpt-4o,text-embedding-3-small",
            "default,vip",
            base_url="https://api.openai.com",
            model_mapping='{"gpt-4":"gpt-4o"}',
            priority=10,
        )
        claude = _channel(
            14,
            CLAUDE_SECRET,
            "claude-backup",
            "claude-3-5-haiku-20241022,claude-3-5-sonnet-20241022",
            "vip",
            status=2,
            model_mapping='{"claude-3-haiku":"claude-3-5-haiku-20241022"}',
            config='{"region":""}',
            system_prompt="Be brief.",
        )
        ids = []
        for channel in (openai, claude):
            _insert(conn, "channels", channel)
            ids.append(_id_of(conn, "channels", "name", channel["name"]))
            _abilities(conn, ids[-1], channel)
        options = {
            "SystemName": "Acme LLM Gateway",
            "GroupRatio": '{"default":1,"vip":0.8}',
            "ModelRatio": '{"gpt-4o-mini":0.075,"gpt-4o":1.25}',
            "QuotaForNewUser": "5000",
            "Theme": "default",
            "GitHubClientSecret": "gh-secret-value",
            "SMTPSSLEnabled": "true",
        }
        for key, value in options.items():
            _insert(conn, "options", {"key": key, "value": value})
        _insert(
            conn,
            "redemptions",
            {
                "user_id": root_id,
                "key": "0123456789abcdef0123456789abcdef",
                "status": 1,
                "name": "welcome",
                "quota": 100_000,
                "created_time": NOW,
                "redeemed_time": 0,
            },
        )
        _insert(conn, "logs", _log(alice_id, "alice", 4, "New user registration gift", quota=5000))
        _insert(conn, "logs", _log(alice_id, "alice", 1, "Recharged 100000 using redemption code"))
        consume = _log(
            alice_id,
            "alice",
            2,
            "倍率：0.07 × 0.80 × 4.00",
            token_name="limited",
            model_name="gpt-4o-mini",
            quota=42,
            prompt_tokens=11,
            completion_tokens=7,
            channel_id=ids[0],
            request_id="2025010112000012345678948213390",
            elapsed_time=850,
            is_stream=True,
        )
        _insert(conn, "logs", consume)
    return Seeded(root_id, alice_id, ids[0], ids[1])


# ---- snapshots --------------------------------------------------------------------------------

Schema = dict[str, dict[str, Any]]
Rows = dict[str, list[tuple[Any, ...]]]


def schema_of(db: sa.Engine) -> Schema:
    """Every table: its columns with their types, and its index names."""
    inspector = sa.inspect(db)
    schema: Schema = {}
    for table in inspector.get_table_names():
        indexes = {i["name"] for i in inspector.get_indexes(table)}
        indexes |= {u["name"] for u in inspector.get_unique_constraints(table)}
        columns = {c["name"]: str(c["type"]) for c in inspector.get_columns(table)}
        schema[table] = {"columns": columns, "indexes": indexes}
    return schema


def rows_of(db: sa.Engine, schema: Schema) -> Rows:
    """Every row of every table in `schema`, restricted to the columns `schema` names."""
    rows: Rows = {}
    with db.connect() as conn:
        for table, info in schema.items():
            names = ",".join(quoted(db, c) for c in info["columns"])
            result = conn.execute(sa.text(f"SELECT {names} FROM {table}")).all()
            rows[table] = sorted((tuple(r) for r in result), key=repr)
    return rows


def assert_nothing_lost(before: Schema, before_rows: Rows, db: sa.Engine) -> None:
    after = schema_of(db)
    for table, info in before.items():
        assert table in after, f"table {table} was dropped"
        for column, kind in info["columns"].items():
            assert after[table]["columns"].get(column) == kind, f"{table}.{column} was dropped or retyped"
        assert info["indexes"] <= after[table]["indexes"], f"an index of {table} was dropped"
    assert rows_of(db, before) == before_rows


@pytest.fixture
def seeded(db: sa.Engine) -> Seeded:
    return seed_one_api_database(db)


@pytest.fixture
def started(seeded: Seeded, make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server()


@pytest.fixture
def client(started: LiveServer) -> Iterator[Callable[[str, str], Api]]:
    """Log in on the started server as a seeded user."""
    clients: list[Api] = []

    def login(username: str, password: str) -> Api:
        api = Api(started.url)
        api.login(username, password)
        clients.append(api)
        return api

    yield login
    for api in clients:
        api.close()


# ---- tests ------------------------------------------------------------------------------------


def test_start_keeps_every_table_column_and_row(
    seeded: Seeded, db: sa.Engine, make_server: Callable[..., LiveServer]
) -> None:
    before = schema_of(db)
    before_rows = rows_of(db, before)
    assert sum(len(r) for r in before_rows.values()) == 2 + 3 + 2 + 8 + 7 + 1 + 3
    make_server().stop()
    assert_nothing_lost(before, before_rows, db)
    added = set(schema_of(db)) - set(before)
    assert "alembic_version" in added


def test_second_start_changes_nothing(
    seeded: Seeded, db: sa.Engine, make_server: Callable[..., LiveServer]
) -> None:
    make_server().stop()
    schema = schema_of(db)
    rows = rows_of(db, schema)
    make_server().stop()
    assert schema_of(db) == schema
    assert rows_of(db, schema) == rows


def test_original_passwords_log_in_and_root_is_not_rebootstrapped(started: LiveServer, db: sa.Engine) -> None:
    api = Api(started.url)
    try:
        assert (
            api.post("/api/user/login", json={"username": "root", "password": "123456"})["success"] is False
        )
        root = api.login("root", ROOT_PASSWORD)["data"]
        assert (root["username"], root["role"], root["display_name"]) == ("root", 100, "Root")
        api.login("alice", ALICE_PASSWORD)
        me = api.get("/api/user/self")["data"]
        assert (me["quota"], me["used_quota"], me["group"], me["email"]) == (
            900_000,
            1234,
            "vip",
            "alice@example.com",
        )
    finally:
        api.close()
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM users")).scalar_one() == 2


def test_stored_options_are_served(
    started: LiveServer, client: Callable[[str, str], Api], seeded: Seeded
) -> None:
    root = client("root", ROOT_PASSWORD)
    options = {o["key"]: o["value"] for o in root.get("/api/option/")["data"]}
    assert options["SystemName"] == "Acme LLM Gateway"
    assert options["GroupRatio"] == '{"default":1,"vip":0.8}'
    assert options["QuotaForNewUser"] == "5000"
    assert options["SMTPSSLEnabled"] == "true"
    assert "GitHubClientSecret" not in options
    assert started.state.options.ratios("GroupRatio") == {"default": 1.0, "vip": 0.8}
    assert started.state.options.ratios("ModelRatio") == {"gpt-4o-mini": 0.075, "gpt-4o": 1.25}
    status = Api(started.url)
    try:
        assert status.get("/api/status")["data"]["system_name"] == "Acme LLM Gateway"
    finally:
        status.close()


def test_seeded_tokens_are_listed_for_their_owner(client: Callable[[str, str], Api], seeded: Seeded) -> None:
    body = client("alice", ALICE_PASSWORD).get("/api/token/")
    assert body["success"] is True, body
    tokens = {t["name"]: t for t in body["data"]}
    assert set(tokens) == {"unlimited", "limited"}
    assert body["total"] == 2
    unlimited, limited = tokens["unlimited"], tokens["limited"]
    assert unlimited["key"] == "sk-" + UNLIMITED_KEY
    assert unlimited["unlimited_quota"] is True and unlimited["expired_time"] == -1
    assert limited["key"] == "sk-" + LIMITED_KEY
    assert limited["user_id"] == seeded.alice_id and limited["status"] == 1
    assert (limited["remain_quota"], limited["used_quota"], limited["unlimited_quota"]) == (
        50_000,
        2_500,
        False,
    )
    assert limited["expired_time"] == 4_102_444_800
    assert limited["models"] == "gpt-4o-mini,claude-3-5-haiku-20241022"
    assert limited["subnet"] == "10.0.0.0/8,192.168.1.0/24"
    assert (limited["created_time"], limited["accessed_time"]) == (NOW, NOW + 60)


def test_seeded_channels_are_listed_for_root_without_keys(
    client: Callable[[str, str], Api], seeded: Seeded
) -> None:
    root = client("root", ROOT_PASSWORD)
    response = root.http.get("/api/channel/")
    assert OPENAI_SECRET not in response.text and CLAUDE_SECRET not in response.text
    body = response.json()
    assert body["success"] is True, body
    channels = {c["id"]: c for c in body["data"]}
    assert set(channels) == {seeded.openai_id, seeded.claude_id}
    assert body["total"] == 2
    openai, claude = channels[seeded.openai_id], channels[seeded.claude_id]
    assert all(c.get("key", "") == "" for c in channels.values())
    assert (openai["name"], openai["type"], openai["status"], openai["priority"]) == ("openai-main", 1, 1, 10)
    assert openai["models"] == "gpt-4o-mini,gpt-4o,text-embedding-3-small"
    assert openai["group"] == "default,vip"
    assert openai["model_mapping"] == '{"gpt-4":"gpt-4o"}'
    assert openai["base_url"] == "https://api.openai.com"
    assert (openai["balance"], openai["used_quota"], openai["response_time"]) == (12.5, 777, 321)
    assert (claude["name"], claude["type"], claude["status"]) == ("claude-backup", 14, 2)
    assert claude["model_mapping"] == '{"claude-3-haiku":"claude-3-5-haiku-20241022"}'
    assert claude["system_prompt"] == "Be brief."
