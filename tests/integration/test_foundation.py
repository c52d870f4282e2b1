"""Start-up on every backend: schema created, root bootstrapped, conventions of unknown routes."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from tests.support.client import Api
from tests.support.server import LiveServer

TABLES = {"users", "tokens", "channels", "abilities", "logs", "options", "redemptions", "user_request_costs"}


def test_start_creates_every_table_and_root(server: LiveServer, db: sa.Engine) -> None:
    assert set(sa.inspect(db).get_table_names()) >= TABLES
    with db.connect() as conn:
        row = conn.execute(sa.text("SELECT username, role, status, quota FROM users")).one()
    assert tuple(row) == ("root", 100, 1, 500_000_000_000_000)


def test_root_logs_in_with_default_password(anon: Api) -> None:
    body = anon.post("/api/user/login", json={"username": "root", "password": "123456"})
    assert body["success"] is True
    assert body["data"]["username"] == "root" and body["data"]["role"] == 100


def test_status_is_public(anon: Api) -> None:
    body = anon.get("/api/status")
    assert body["success"] is True
    assert body["data"]["system_name"] == "One API"
    assert body["data"]["quota_per_unit"] == 500000


def test_unknown_api_route_is_invalid_url_404(anon: Api) -> None:
    response = anon.http.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": "Invalid URL (GET /api/nothing-here)",
            "type": "invalid_request_error",
            "param": "",
            "code": "",
        }
    }


def test_second_start_keeps_data_and_does_not_rebootstrap(
    make_server: Callable[..., LiveServer], db: sa.Engine
) -> None:
    make_server().stop()
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET display_name = 'kept' WHERE username = 'root'"))
    make_server()
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT display_name FROM users")).all()
    assert [r[0] for r in rows] == ["kept"]


def test_initial_root_token_and_access_token(make_server: Callable[..., LiveServer], db: sa.Engine) -> None:
    server = make_server(
        INITIAL_ROOT_TOKEN="sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL",
        INITIAL_ROOT_ACCESS_TOKEN="0123456789abcdef0123456789abcdef",
    )
    with db.connect() as conn:
        key = conn.execute(
            sa.text(
                "SELECT "
                + ('"key"' if db.dialect.name != "mysql" else "`key`")
                + ", name, unlimited_quota FROM tokens"
            )
        ).one()
    assert key[0] == "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL"
    assert key[1] == "Initial Root Token" and bool(key[2]) is True
    api = Api(server.url, headers={"Authorization": "0123456789abcdef0123456789abcdef"})
    assert api.get("/api/user/self")["data"]["username"] == "root"
    api.close()


def test_slave_node_skips_migrations(make_server: Callable[..., LiveServer], db: sa.Engine) -> None:
    """A database last written by an older schema: only a master brings it forward."""
    make_server().stop()
    with db.begin() as conn:
        conn.execute(sa.text("DROP TABLE redemptions"))
        conn.execute(sa.text("DROP TABLE alembic_version"))
    make_server(NODE_TYPE="slave")
    assert "redemptions" not in sa.inspect(db).get_table_names()
    make_server()
    assert "redemptions" in sa.inspect(db).get_table_names()
