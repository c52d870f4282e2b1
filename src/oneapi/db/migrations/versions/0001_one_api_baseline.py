"""One API's tables (users, tokens, channels, abilities, options, redemptions, logs,
user_request_costs) plus the fork's columns we use; adopts an existing One API database as it is.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from oneapi.db.schema_sync import ensure_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_tables()


def downgrade() -> None:
    raise NotImplementedError("One API databases are never downgraded: it would lose columns")
