"""Additive schema sync used by every migration: create missing tables, columns and indexes.

Never drops, renames or retypes anything, so an operator's One API database keeps every table,
column and row. Each step checks first, which makes every revision safe to run on a database
that One API (either fork) already laid out, or that an earlier revision already brought forward.
"""

from __future__ import annotations

import logging

from alembic import context, op
from sqlalchemy import Column, Table, inspect
from sqlalchemy.schema import CreateIndex

from oneapi.db.tables import LOG_TABLES, MAIN_TABLES

log = logging.getLogger(__name__)


def tables_in_scope() -> tuple[Table, ...]:
    scope = context.config.attributes.get("scope", "all")
    if scope == "main":
        return MAIN_TABLES
    if scope == "logs":
        return LOG_TABLES
    return MAIN_TABLES + LOG_TABLES


def _added_column(column: Column) -> Column:
    """A copy of `column` that can be ALTER-added to a table holding rows: never NOT NULL."""
    copy = column._copy()
    copy.primary_key = False
    copy.nullable = True
    return copy


def ensure_tables(tables: tuple[Table, ...] | None = None) -> None:
    bind = op.get_bind()
    for table in tables or tables_in_scope():
        inspector = inspect(bind)
        if not inspector.has_table(table.name):
            log.info("creating table %s", table.name)
            table.create(bind)
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                log.info("adding column %s.%s", table.name, column.name)
                op.add_column(table.name, _added_column(column))
        indexes = {i["name"] for i in inspect(bind).get_indexes(table.name)}
        indexes |= {u["name"] for u in inspect(bind).get_unique_constraints(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                log.info("creating index %s", index.name)
                bind.execute(CreateIndex(index))
