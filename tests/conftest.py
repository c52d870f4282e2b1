"""Fixtures shared by every test: a live app on a fresh database of each backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from oneapi.config import Settings
from tests.support.client import Api
from tests.support.databases import BACKENDS, reset_database, server_dsn, sync_url
from tests.support.rows import insert_user
from tests.support.server import LiveServer


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database(backend: str, tmp_path: Path) -> tuple[dict[str, str], str]:
    """(environment for the app, sync SQLAlchemy URL for the test) of an empty database."""
    if backend == "sqlite":
        file = tmp_path / "one-api.db"
        return {"SQLITE_PATH": str(file)}, sync_url("sqlite", "", file)
    dsn = server_dsn(backend)
    url = sync_url(backend, dsn)
    reset_database(url)
    return {"SQL_DSN": dsn}, url


@pytest.fixture
def db(database: tuple[dict[str, str], str]) -> Iterator[sa.Engine]:
    """A synchronous engine on the test's database, for seeding and checking rows with SQL."""
    engine = sa.create_engine(database[1])
    yield engine
    engine.dispose()


@pytest.fixture
def make_server(database: tuple[dict[str, str], str]) -> Iterator[Callable[..., LiveServer]]:
    """Start the app on the test's database with extra environment; stopped after the test."""
    started: list[LiveServer] = []

    def start(**env: str) -> LiveServer:
        base = {
            "SESSION_SECRET": "test-secret-0123456789",
            "ENABLE_COOKIE_SECURE": "false",
            "SYNC_FREQUENCY": "60",
        }
        settings = Settings.from_env({**base, **database[0], **env})
        server = LiveServer(settings).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server()


@pytest.fixture
def anon(server: LiveServer) -> Iterator[Api]:
    api = Api(server.url)
    yield api
    api.close()


@pytest.fixture
def root(server: LiveServer) -> Iterator[Api]:
    """A client logged in as the bootstrap root user."""
    api = Api(server.url)
    api.login("root", "123456")
    yield api
    api.close()


@pytest.fixture
def make_user(server: LiveServer, db: sa.Engine) -> Iterator[Callable[..., Api]]:
    """Insert a user with plain SQL (as One API would have), return a client logged in as them."""
    clients: list[Api] = []

    def create(
        username: str,
        password: str = "password123",
        role: int = 1,
        status: int = 1,
        quota: int = 0,
        group: str = "default",
    ) -> Api:
        insert_user(db, username, password, role=role, status=status, quota=quota, group=group)
        api = Api(server.url)
        if status == 1:
            api.login(username, password)
        clients.append(api)
        return api

    yield create
    for api in clients:
        api.close()
