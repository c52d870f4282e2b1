"""Run the Alembic migrations on the main database and, if separate, the logs database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from oneapi.config import Settings
from oneapi.db.engine import Database, open_database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _alembic_config(connection: Connection, scope: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    cfg.attributes["scope"] = scope
    return cfg


async def _upgrade(engine: AsyncEngine, scope: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync_conn: command.upgrade(_alembic_config(sync_conn, scope), "head"))


async def run_migrations(db: Database) -> None:
    """Bring every table to head. scope 'all' = one database holds everything."""
    if db.logs_separate:
        await _upgrade(db.main, "main")
        await _upgrade(db.logs, "logs")
    else:
        await _upgrade(db.main, "all")


async def migrate_database(settings: Settings) -> None:
    """Open the databases `settings` name, bring them to head and close them (`one-api migrate`)."""
    db = open_database(settings)
    try:
        await run_migrations(db)
    finally:
        await db.dispose()
