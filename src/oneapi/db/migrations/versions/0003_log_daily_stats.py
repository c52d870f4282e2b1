"""log_daily_stats (the dashboard's daily roll-up), logs.rolled_up and the log indexes for large
tables; rolls up the consume logs already in the database (One API's history) once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from alembic import op

from oneapi.db.schema_sync import ensure_tables, tables_in_scope
from oneapi.db.tables import logs
from oneapi.services.log_rollup import roll_up_all

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_tables()
    if logs in tables_in_scope():
        roll_up_all(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("One API databases are never downgraded: it would lose columns")
