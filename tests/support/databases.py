"""Test databases: SQLite always; PostgreSQL and MariaDB when their DSNs are in the environment.

CI (.ci/run) sets ONEAPI_TEST_PG_DSN and ONEAPI_TEST_MYSQL_DSN; without them those backends skip.
Each test gets an empty database: a new SQLite file, or every table dropped from the server's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_ENV = "ONEAPI_TEST_PG_DSN"
MYSQL_ENV = "ONEAPI_TEST_MYSQL_DSN"
BACKENDS = ("sqlite", "postgresql", "mysql")


def server_dsn(backend: str) -> str:
    """The DSN given to the app (One API's own forms), or skip the test with the reason."""
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
    return dsn


def sync_url(backend: str, dsn: str, sqlite_file: Path | None = None) -> str:
    """A synchronous SQLAlchemy URL for the same database, for tests that read or seed rows with SQL."""
    if backend == "sqlite":
        return f"sqlite:///{sqlite_file}"
    from oneapi.db.dsn import to_async_url

    url = to_async_url(dsn, "")
    return url.replace("postgresql+asyncpg", "postgresql+psycopg").replace("mysql+aiomysql", "mysql+pymysql")


def reset_database(url: str) -> None:
    """Drop every table (and PostgreSQL's public schema objects) so the test starts empty."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            else:
                names = sa.inspect(conn).get_table_names()
                conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
                for name in names:
                    conn.execute(sa.text(f"DROP TABLE IF EXISTS `{name}`"))
                conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))
    finally:
        engine.dispose()
