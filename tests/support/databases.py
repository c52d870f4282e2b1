"""Test databases: SQLite always; PostgreSQL and MariaDB when their DSNs are in the environment.

CI (.ci/run) sets ONEAPI_TEST_PG_DSN and ONEAPI_TEST_MYSQL_DSN; without them those backends skip.
Under pytest-xdist each worker has its own database on those servers (`test` → `test_gw0`, created
when missing), so workers never see each other's rows. Each test gets a database equivalent to an
empty one; `ServerDatabase` says how that is made cheaply.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from oneapi.config import Settings
from oneapi.db.migrate import migrate_database
from tests.support import schema_reuse

PG_ENV = "ONEAPI_TEST_PG_DSN"
MYSQL_ENV = "ONEAPI_TEST_MYSQL_DSN"
BACKENDS = ("sqlite", "postgresql", "mysql")
WORKER_ENV = "PYTEST_XDIST_WORKER"  # set by pytest-xdist in each worker process: gw0, gw1, …


def server_dsn(backend: str) -> str:
    """The DSN given to the app (One API's own forms), or skip the test with the reason.

    Under xdist it names this worker's own database, created on first use."""
    env = {"postgresql": PG_ENV, "mysql": MYSQL_ENV}[backend]
    dsn = os.environ.get(env, "")
    if not dsn:
        pytest.skip(
            f"{backend} tests need {env} (set by .ci/run), e.g. "
            + (
                "postgres://postgres@127.0.0.1:5432/test"
                if backend == "postgresql"
                else "root@tcp(127.0.0.1:3306)/test"
            )
        )
    worker = os.environ.get(WORKER_ENV, "")
    if not worker:
        return dsn
    own = with_database_name(dsn, f"{database_name(dsn) or 'oneapi_test'}_{worker}")
    _create_database(backend, dsn, database_name(own))
    return own


def database_name(dsn: str) -> str:
    """The database a URL or Go MySQL DSN names (Go's rule: after the last '/', up to '?')."""
    if "://" in dsn:
        return urlsplit(dsn).path.lstrip("/")
    return dsn.rpartition("/")[2].partition("?")[0]


def with_database_name(dsn: str, name: str) -> str:
    """The same DSN naming another database on the same server."""
    if "://" in dsn:
        return urlunsplit(urlsplit(dsn)._replace(path="/" + name))
    head, _, tail = dsn.rpartition("/")
    _, query_mark, query = tail.partition("?")
    return f"{head}/{name}{query_mark}{query}"


@cache
def _create_database(backend: str, dsn: str, name: str) -> None:
    """Create the worker's database like the given one (same encoding or character set), if missing."""
    engine = sa.create_engine(sync_url(backend, dsn), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if backend == "postgresql":
                _create_pg_database(conn, name)
            else:
                charset, collation = conn.execute(
                    sa.text(
                        "SELECT default_character_set_name, default_collation_name"
                        " FROM information_schema.schemata WHERE schema_name = DATABASE()"
                    )
                ).one()
                create = f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET {charset} COLLATE {collation}"
                conn.execute(sa.text(create))
    finally:
        engine.dispose()


def _create_pg_database(conn: sa.Connection, name: str) -> None:
    if conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
        return
    encoding, collate, ctype = conn.execute(
        sa.text(
            "SELECT pg_encoding_to_char(encoding), datcollate, datctype"
            " FROM pg_database WHERE datname = current_database()"
        )
    ).one()
    conn.execute(
        sa.text(
            f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING '{encoding}'"
            f" LC_COLLATE '{collate}' LC_CTYPE '{ctype}'"
        )
    )


def sync_url(backend: str, dsn: str, sqlite_file: Path | None = None) -> str:
    """A synchronous SQLAlchemy URL for the same database, for tests that read or seed rows with SQL."""
    if backend == "sqlite":
        return f"sqlite:///{sqlite_file}"
    from oneapi.db.dsn import to_async_url

    url = to_async_url(dsn, "")
    return url.replace("postgresql+asyncpg", "postgresql+psycopg").replace("mysql+aiomysql", "mysql+pymysql")


_engines: dict[str, sa.Engine] = {}


def admin_engine(url: str) -> sa.Engine:
    """One engine per database for the resets, kept for the whole run: a new connection costs 20-50 ms."""
    if url not in _engines:
        _engines[url] = sa.create_engine(url, pool_size=1, pool_pre_ping=True)
    return _engines[url]


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def reset_database(url: str) -> None:
    """Drop every table (and PostgreSQL's public schema objects) so the database is empty."""
    with admin_engine(url).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        else:
            names = sa.inspect(conn).get_table_names()
            conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
            for name in names:
                conn.execute(sa.text(f"DROP TABLE IF EXISTS `{name}`"))
            conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))


class SqliteTemplate:
    """An empty SQLite database that the app's own migrations brought to head, made once per process.

    A fresh file costs each test a migration (~0.2 s); a copy of this one costs ~1 ms."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._usable: bool | None = None

    def copy_to(self, target: Path) -> None:
        if self._usable is None:
            self._usable = self._make()
        if self._usable:
            shutil.copyfile(self.file, target)

    def _make(self) -> bool:
        """Migrate an empty file as the app's start does; usable if it is complete in its one file."""
        settings = Settings.from_env({"SQLITE_PATH": str(self.file)})
        with ThreadPoolExecutor(1) as pool:  # its own thread: the caller may be inside an event loop
            pool.submit(asyncio.run, migrate_database(settings)).result()
        return not any(Path(f"{self.file}{end}").exists() for end in ("-wal", "-shm", "-journal"))


@dataclass
class SqliteDatabase:
    """A new SQLite file per test. If the app's start comes before the test's own use of it, the
    file is a copy of the template, at head, which the app then does not migrate again."""

    env: dict[str, str]
    url: str
    file: Path
    template: SqliteTemplate
    ready: bool = False

    def make_empty(self) -> None:
        """Nothing to drop: the file does not exist yet, and will not be replaced by the template."""
        self.ready = True

    def before_app(self, settings: Settings) -> None:
        """Called before each start of the app; only the first one, if nothing came before, decides."""
        if self.ready:
            return
        self.ready = True
        whole = not settings.sql_dsn and not settings.log_sql_dsn and not settings.is_slave
        if whole and settings.sqlite_path == str(self.file) and not self.file.exists():
            self.template.copy_to(self.file)

    def after_app(self) -> None:
        """Nothing to record: the template was made apart."""


@dataclass
class ServerDatabase:
    """A test's database on PostgreSQL or MariaDB, made ready at its first use, which decides how.

    If the test reads or builds the database itself first (its `db` engine connects, or it asks for
    `database`), every table is dropped: it sees an empty database. If the app's start comes first,
    the app would migrate an empty database to head, so when the schema left by the last test is
    exactly what a fresh migration gives (schema_reuse's fingerprint), only its rows are removed and
    the app finds the schema at head; otherwise everything is dropped and the app migrates."""

    env: dict[str, str]
    url: str
    dsn: str
    ready: bool = False
    record_after_start: bool = False

    def make_empty(self) -> None:
        """Drop everything unless the test's database is already in use."""
        if not self.ready:
            self.ready = True
            reset_database(self.url)

    def before_app(self, settings: Settings) -> None:
        """Called before each start of the app; only the first one, if nothing came before, decides."""
        if self.ready:
            return
        self.ready = True
        if not self._migrates_the_whole_schema(settings):
            reset_database(self.url)
            return
        with admin_engine(self.url).begin() as conn:
            if schema_reuse.empty_if_fresh(conn, self.url):
                return
        reset_database(self.url)
        self.record_after_start = not schema_reuse.has_reference(self.url)

    def after_app(self) -> None:
        """After a start that migrated an empty database: keep its schema as the reference."""
        if self.record_after_start:
            self.record_after_start = False
            with admin_engine(self.url).connect() as conn:
                schema_reuse.record(conn, self.url)

    def _migrates_the_whole_schema(self, settings: Settings) -> bool:
        """A master with every table in this database: what it makes of an empty one is the reference."""
        return settings.sql_dsn == self.dsn and not settings.log_sql_dsn and not settings.is_slave


AnyDatabase = SqliteDatabase | ServerDatabase


def database_of(backend: str, tmp_path: Path, template: SqliteTemplate) -> AnyDatabase:
    """The database of one test (skips if its server's DSN is not set)."""
    if backend == "sqlite":
        file = tmp_path / "one-api.db"
        return SqliteDatabase({"SQLITE_PATH": str(file)}, sync_url("sqlite", "", file), file, template)
    dsn = server_dsn(backend)
    return ServerDatabase({"SQL_DSN": dsn}, sync_url(backend, dsn), dsn)
