"""`one-api migrate` and LOG_SQL_DSN: the schema from the command line, logs in their own database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.client import Api
from tests.support.fake_openai import FakeOpenAI
from tests.support.relay import RelaySetup
from tests.support.rows import insert_user
from tests.support.server import LiveServer


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def test_migrate_command_creates_the_schema_and_exits(tmp_path: Path) -> None:
    file = tmp_path / "fresh" / "one-api.db"
    result = subprocess.run(
        [sys.executable, "-m", "oneapi", "migrate"],
        env={"SQLITE_PATH": str(file)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "migrations applied" in result.stdout
    tables = set(sa.inspect(sa.create_engine(f"sqlite:///{file}")).get_table_names())
    assert {
        "users",
        "tokens",
        "channels",
        "abilities",
        "logs",
        "options",
        "redemptions",
        "user_request_costs",
        "alembic_version",
    } <= tables


def test_migrate_command_names_a_bad_dsn(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "oneapi", "migrate"],
        env={"SQL_DSN": "oracle://x/y"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "unsupported database scheme" in result.stderr
    assert "Traceback" not in result.stderr


def test_log_sql_dsn_puts_logs_in_their_own_database(
    make_server: Callable[..., LiveServer], db: sa.Engine, tmp_path: Path, upstream: FakeOpenAI
) -> None:
    log_file = tmp_path / "logs.db"
    server = make_server(LOG_SQL_DSN=f"sqlite:///{log_file}")
    insert_user(db, "lena", "password123", quota=1_000_000)
    root, user = Api(server.url), Api(server.url)
    root.login("root", "123456")
    user.login("lena", "password123")
    relay = RelaySetup(server=server, root=root, user=user, key="", db=db)
    relay.key = relay.make_key()
    relay.add_channel(upstream)
    relay.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    logs_db = sa.create_engine(f"sqlite:///{log_file}")
    assert "logs" in sa.inspect(logs_db).get_table_names()
    assert "users" not in sa.inspect(logs_db).get_table_names()
    assert "logs" not in sa.inspect(db).get_table_names()
    relay.db = logs_db
    relay.wait_flushed(1)
    with logs_db.connect() as conn:
        assert conn.execute(sa.text("SELECT quota, username FROM logs WHERE type = 2")).one() == (3, "lena")
    with db.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT quota FROM users WHERE username = 'lena'")).scalar() == 1_000_000 - 3
        )
