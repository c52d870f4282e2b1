"""Open the main database (and the optional separate logs database) as async SQLAlchemy engines."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from oneapi.config import Settings
from oneapi.db.dsn import backend_of, to_async_url

log = logging.getLogger(__name__)


@dataclass
class Database:
    """The engines the app talks to; `logs` is `main` unless LOG_SQL_DSN names another database."""

    main: AsyncEngine
    logs: AsyncEngine
    backend: str
    logs_backend: str

    @property
    def logs_separate(self) -> bool:
        return self.logs is not self.main

    async def dispose(self) -> None:
        await self.main.dispose()
        if self.logs_separate:
            await self.logs.dispose()


def _make_engine(url: str, settings: Settings) -> AsyncEngine:
    backend = backend_of(url)
    if backend == "sqlite":
        engine = create_async_engine(
            url,
            echo=settings.debug_sql,
            connect_args={"timeout": settings.sqlite_busy_timeout / 1000},
        )
        busy_ms = settings.sqlite_busy_timeout

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    pool_size = max(1, min(settings.sql_max_idle_conns, settings.sql_max_open_conns, 50))
    overflow = max(0, min(settings.sql_max_open_conns, 200) - pool_size)
    return create_async_engine(
        url,
        echo=settings.debug_sql,
        pool_size=pool_size,
        max_overflow=overflow,
        pool_recycle=settings.sql_max_lifetime or -1,
        pool_pre_ping=True,
    )


def open_database(settings: Settings) -> Database:
    """Build engines from SQL_DSN / SQLITE_PATH and LOG_SQL_DSN; connections open lazily."""
    main_url = to_async_url(settings.sql_dsn, settings.sqlite_path)
    main = _make_engine(main_url, settings)
    if settings.log_sql_dsn:
        logs_url = to_async_url(settings.log_sql_dsn, settings.sqlite_path)
        logs = _make_engine(logs_url, settings)
    else:
        logs_url, logs = main_url, main
    log.info("database: %s; logs: %s", backend_of(main_url), "separate" if logs is not main else "same")
    return Database(main=main, logs=logs, backend=backend_of(main_url), logs_backend=backend_of(logs_url))
