"""Fixtures shared by every test: a live app on a fresh database of each backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from oneapi.config import Settings
from tests.support.client import Api
from tests.support.databases import BACKENDS, AnyDatabase, SqliteTemplate, database_of, dispose_engines
from tests.support.rows import insert_user
from tests.support.server import LiveServer


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # optional: a hook of pytest-xdist, when loaded
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With `-n`, keep the modules on Redis in one worker (tests.support.xdist_redis says why)."""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from tests.support.xdist_redis import RedisGroupScheduling

    return RedisGroupScheduling(config, log)


def pytest_sessionfinish() -> None:
    """Close the reset engines' connections before the process ends, so the servers log no EOF."""
    dispose_engines()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template") / "one-api.db")


@pytest.fixture
def lazy_db(backend: str, tmp_path: Path, sqlite_template: SqliteTemplate) -> AnyDatabase:
    """The test's database, made ready at its first use (by `database`, `db` or the app's start)."""
    return database_of(backend, tmp_path, sqlite_template)


@pytest.fixture
def database(lazy_db: AnyDatabase) -> tuple[dict[str, str], str]:
    """(environment for the app, sync SQLAlchemy URL for the test) of an empty database.

    Whoever asks for it may use the database in ways no hook sees, so it is emptied at once."""
    lazy_db.make_empty()
    return lazy_db.env, lazy_db.url


@pytest.fixture
def db(lazy_db: AnyDatabase) -> Iterator[sa.Engine]:
    """A synchronous engine on the test's database, for seeding and checking rows with SQL.

    Its first connection, if it comes before the app's start, makes the database empty."""
    engine = sa.create_engine(lazy_db.url)
    sa.event.listen(engine, "connect", lambda *_: lazy_db.make_empty())
    yield engine
    engine.dispose()


@pytest.fixture
def make_server(lazy_db: AnyDatabase) -> Iterator[Callable[..., LiveServer]]:
    """Start the app on the test's database with extra environment; stopped after the test."""
    started: list[LiveServer] = []

    def start(**env: str) -> LiveServer:
        base = {
            "SESSION_SECRET": "test-secret-0123456789",
            "ENABLE_COOKIE_SECURE": "false",
            "SYNC_FREQUENCY": "60",
        }
        settings = Settings.from_env({**base, **lazy_db.env, **env})
        lazy_db.before_app(settings)
        server = LiveServer(settings).start()
        started.append(server)
        lazy_db.after_app()
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
